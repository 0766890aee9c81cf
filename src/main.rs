//! The `window-ledger` binary: parse the command line, call the library,
//! turn the outcome into an exit code (0 ok, 1 failure, 2 bad input, 3 a
//! threshold breached).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use window_ledger::cli::{
    Cli, Command, DemoArgs, GenerateArgs, PartArgs, PartStepArg, QueryArgs, ReportArgs,
};
use window_ledger::config::Settings;
use window_ledger::generate::{self, GenerateOptions};
use window_ledger::{bad_input, commands, error};

/// polars allocates and frees large buffers from many threads: with
/// mimalloc a 10M-row run was faster here (149 s against 185 s with glibc's
/// allocator, in one comparison with a build beside it; same peak RSS).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_decommits`: its place in `mi_option_t` of
/// mimalloc.h (v3, the one libmimalloc-sys 0.1.49 builds by default),
/// which the crate gives no name.
const MI_OPTION_PURGE_DECOMMITS: libmimalloc_sys::mi_option_t = 5;

/// Two allocator settings, each measured on this project's machines:
/// - memory mimalloc gives back is reset (the kernel takes the pages when
///   it needs them) rather than decommitted. polars frees and allocates
///   buffers of the same sizes part after part, and decommitting them made
///   each reuse a new page fault: 20 s of system time in a 66 s run of
///   9.7M rows, against 7 s and 54 s so (peak RSS 1.96 -> 2.53 GB);
/// - no transparent huge pages for this process (Linux): each first touch
///   of a huge page makes the kernel zero 2 MiB, and polars touches many
///   short-lived buffers, so zeroing was 37 % of the CPU time of a 1M-row
///   run. Without them: 1M rows 3.3 -> 3.0 s, 10M rows 48.1 -> 45.2 s,
///   system time 10.8 -> 6.5 s (the kit's logs, back to back). mimalloc's
///   own option for this is read when it starts, before `main`, so the
///   process flag is set instead; the kernel checks it at each fault.
fn tune_allocator() {
    // SAFETY: sets one integer option of the allocator, first thing in
    // `main`, before any other thread runs; mimalloc reads it when it
    // purges.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DECOMMITS, 0) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes integer arguments only
    // and changes nothing but this process's huge-page policy; a kernel
    // without it returns an error, which changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Exit code of a run whose report was written but breached a threshold.
const THRESHOLD_BREACHED: u8 = 3;

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("window-ledger: error: {err:#}");
            ExitCode::from(error::exit_code(&err) as u8)
        }
    }
}

fn run(command: Command) -> Result<u8> {
    match command {
        Command::Report(args) => report(*args),
        Command::Demo(args) => demo(args),
        Command::Generate(args) => generate_log(args).map(|()| 0),
        Command::Query(args) => query(*args).map(|()| 0),
        Command::Part(args) => part(*args).map(|()| 0),
    }
}

/// A spinner on stderr naming the stage, only on a terminal, without
/// `--quiet`, and only once the run has taken a second (a quick run prints
/// nothing but its result).
fn progress(quiet: bool) -> ProgressBar {
    let bar = ProgressBar::hidden();
    if quiet || !std::io::stderr().is_terminal() {
        return bar;
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("valid template"),
    );
    let shown = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        if !shown.is_finished() {
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(200));
        }
    });
    bar
}

/// `WINDOW_LEDGER_TIMINGS=1`: each stage's start on stderr, in seconds
/// since the run began (for profiling; `bench/run.sh` records them).
struct Timings(Option<std::time::Instant>);

impl Timings {
    fn from_env() -> Self {
        Timings(
            std::env::var_os("WINDOW_LEDGER_TIMINGS")
                .filter(|v| v != "0")
                .map(|_| std::time::Instant::now()),
        )
    }

    fn log(&self, stage: &str) {
        if let Some(start) = self.0 {
            eprintln!("[{:7.2} s] {stage}", start.elapsed().as_secs_f64());
        }
    }
}

fn report(args: ReportArgs) -> Result<u8> {
    let (quiet, allow_rejected) = (args.ci.quiet, args.ci.allow_rejected);
    let from_tables = args.from_tables.clone();
    let settings = Settings::new(args.request())?;
    run_and_tell(&settings, quiet, allow_rejected, from_tables.as_deref())
}

/// `part`: one step of a driven run (`pipeline::driven`).
fn part(args: PartArgs) -> Result<()> {
    let step = match args.step {
        PartStepArg::Files => commands::PartStep::Files,
        PartStepArg::Route => commands::PartStep::Route,
        PartStepArg::Price => commands::PartStep::Price,
        PartStepArg::Settle => commands::PartStep::Settle,
    };
    let (batch, out) = (args.batch.clone(), args.out.clone());
    let settings = Settings::new(args.request())?;
    commands::run_part(step, &settings, batch.as_deref(), out.as_deref())
}

/// Runs `report` with a progress line, then says what happened on stderr
/// and turns it into the exit code.
/// (`from_tables`: from the tables of a driven run, `report --from-tables`.)
fn run_and_tell(
    settings: &Settings,
    quiet: bool,
    allow_rejected: bool,
    from_tables: Option<&Path>,
) -> Result<u8> {
    let bar = progress(quiet);
    let timings = Timings::from_env();
    let mut stage = |stage: &str| {
        timings.log(stage);
        bar.set_message(stage.to_string())
    };
    let outcome = match from_tables {
        Some(dir) => commands::run_report_from_tables(settings, dir, &mut stage)?,
        None => commands::run_report_with(settings, &mut stage)?,
    };
    timings.log("done");
    bar.finish_and_clear();
    if !quiet {
        for warning in &outcome.warnings {
            eprintln!("window-ledger: warning: {warning}");
        }
    }
    // A failing run says why even when quiet.
    let failing_on_rejected = !outcome.rejected.is_empty() && !allow_rejected;
    if !quiet || failing_on_rejected {
        for note in &outcome.rejected {
            eprintln!("window-ledger: rejected: {note}");
        }
    }
    if !quiet {
        eprintln!("wrote {}", settings.output.out_dir.display());
    }
    let breached: Vec<_> = outcome.checks.iter().filter(|c| c.breached).collect();
    for check in &breached {
        eprintln!("window-ledger: threshold breached: {}", check.describe());
    }
    if failing_on_rejected {
        return Ok(2);
    }
    Ok(if breached.is_empty() {
        0
    } else {
        THRESHOLD_BREACHED
    })
}

fn query(args: QueryArgs) -> Result<()> {
    let sql = args.sql.clone();
    let csv = args.csv;
    let settings = Settings::new(args.request())?;
    let table = commands::run_query(&settings, &sql)?;
    let mut stdout = std::io::stdout().lock();
    if csv {
        use std::io::Write;
        stdout.write_all(&window_ledger::report::csv_bytes(&table)?)?;
    } else {
        use std::io::Write;
        writeln!(stdout, "{table}")?;
    }
    Ok(())
}

/// `demo`: a generated log, reported exactly as `report` reports it.
fn demo(args: DemoArgs) -> Result<u8> {
    let demo = commands::Demo {
        out: args.out,
        contacts: args.contacts,
        seed: args.seed,
        lang: args.lang,
    };
    let (code, rows) =
        commands::demo(&demo, |settings| run_and_tell(settings, false, false, None))?;
    eprintln!(
        "the report covers {rows} demo messages: open {}/report.html or summary.md",
        demo.out.display()
    );
    Ok(code)
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
    let rows = generate::write(&options, &args.out)?;
    eprintln!("wrote {} ({rows} rows)", args.out.display());
    Ok(())
}
