//! The `window-ledger` binary: parse the command line, call the library,
//! turn the outcome into an exit code (0 ok, 1 failure, 2 bad input).

use std::process::ExitCode;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Parser;

use window_ledger::cli::{Cli, Command, DemoArgs, GenerateArgs, ReportArgs};
use window_ledger::config::Settings;
use window_ledger::generate::{self, GenerateOptions};
use window_ledger::{bad_input, error};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("window-ledger: error: {err:#}");
            ExitCode::from(error::exit_code(&err) as u8)
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Report(args) => report(*args),
        Command::Demo(args) => demo(args),
        Command::Generate(args) => generate_log(args),
    }
}

fn report(args: ReportArgs) -> Result<()> {
    let settings = Settings::resolve(args.inputs, args.out, &args.run)?;
    window_ledger::run_report(&settings)?;
    eprintln!("wrote {}", settings.out_dir.display());
    Ok(())
}

fn demo(args: DemoArgs) -> Result<()> {
    let options = GenerateOptions {
        contacts: args.contacts,
        days: 92,
        start: NaiveDate::from_ymd_opt(2026, 8, 1).expect("valid date"),
        businesses: 3,
        seed: args.seed,
    };
    let mut log = generate::generate(&options)?;
    let input =
        std::env::temp_dir().join(format!("window-ledger-demo-{}.parquet", std::process::id()));
    generate::write(&mut log, &input)?;
    let run = window_ledger::cli::RunArgs {
        month: None,
        from: None,
        to: None,
        tz: "Asia/Riyadh".into(),
        input_tz: "UTC".into(),
        rule: window_ledger::cli::WindowRule::CustomerOnly,
        lang: args.lang.clone(),
        show_contacts: false,
        pricing: window_ledger::cli::PricingArgs::default(),
    };
    let settings = Settings::resolve(vec![input.clone()], Some(args.out.clone()), &run)?;
    let book = window_ledger::load_rates(&settings)?;
    let ingested = window_ledger::ingest::read_inputs(&settings.inputs, "UTC");
    let _ = std::fs::remove_file(&input);
    // Name the log as it is kept beside the report, not by its temporary path.
    let ingested = ingested?.renamed_single_input("input/demo-log.parquet")?;
    let analysis = window_ledger::analyse_with(ingested, &book, &settings)?;
    window_ledger::report::write_run(&analysis, &settings)?;
    // Keep the log beside the report, so the run can be repeated by hand.
    generate::write(&mut log, &args.out.join("input").join("demo-log.parquet"))?;
    eprintln!(
        "wrote {} ({} demo messages; open {}/report.html or summary.md)",
        args.out.display(),
        log.height(),
        args.out.display()
    );
    Ok(())
}

fn generate_log(args: GenerateArgs) -> Result<()> {
    let start = NaiveDate::parse_from_str(&args.start, "%Y-%m-%d").map_err(|_| {
        bad_input!(
            "--start {:?} is not a date; write it as YYYY-MM-DD",
            args.start
        )
    })?;
    let options = GenerateOptions {
        contacts: args.contacts,
        days: args.days,
        start,
        businesses: args.businesses,
        seed: args.seed,
    };
    let mut log = generate::generate(&options)?;
    generate::write(&mut log, &args.out)?;
    eprintln!("wrote {} ({} rows)", args.out.display(), log.height());
    Ok(())
}
