//! `sarap`: one binary, one role per subcommand, plus the tools around them.

use clap::{Args, Parser, Subcommand};
use sarap::roles::{self, Loaded, StartupError};
use sarap::synth::{Scenario, SynthOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Regional risk signals from public posts in Kazakhstan, without profiling individuals.
#[derive(Parser)]
#[command(name = "sarap", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options every role shares.
#[derive(Args, Clone)]
struct Common {
    /// Configuration file (default: config/sarap.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Kafka bootstrap servers; overrides kafka.brokers and SARAP_BROKERS.
    #[arg(long, global = true)]
    brokers: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every available role in one process, on an embedded broker unless --brokers is given.
    Run(RunArgs),
    /// Role: posts.raw → posts.clean and posts.rejected.
    Ingest(Common),
    /// Role: posts.clean → posts.scored and audit.decisions (not in this build yet).
    Analyze(Common),
    /// Role: posts.scored → signals.regional, store and API (not in this build yet).
    Sink(Common),
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Produce a JSONL file of raw posts into posts.raw.
    Replay(ReplayArgs),
    /// Write a realistic synthetic stream of raw posts as JSONL.
    Synth(SynthArgs),
    /// Benchmarks that compare a stage with a reference measured in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check a policy file: print each violation and exit 2, or print its hash and exit 0.
    Check {
        /// The policy file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Ingest throughput against consume + JSON parse alone.
    Ingest {
        /// Synthetic posts to push through.
        #[arg(long, default_value_t = 30_000)]
        posts: usize,
        /// Partitions of the bench topics.
        #[arg(long, default_value_t = 12)]
        partitions: i32,
        /// Alternating rounds of reference and ingest; medians are reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Feed a synthetic sample stream into posts.raw at this many posts per second (0: none).
    #[arg(long, default_value_t = 50.0)]
    sample_rate: f64,
    /// Seed of the sample stream.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop feeding after this many sample posts.
    #[arg(long, default_value_t = 1_000_000)]
    sample_posts: usize,
    /// Scenarios injected into the sample stream, e.g. hostility-wave:abai.
    #[arg(long)]
    scenario: Vec<Scenario>,
}

#[derive(Args)]
struct ReplayArgs {
    /// JSONL file, one raw post per line.
    file: PathBuf,
    #[command(flatten)]
    common: Common,
    /// Topic (default: kafka.topics.raw).
    #[arg(long)]
    topic: Option<String>,
    /// Posts per second (default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct SynthArgs {
    /// Seed; the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of lines.
    #[arg(long, default_value_t = 1000)]
    posts: usize,
    /// Scenario, repeatable: hostility-wave:REGION[:FROM:TO:INTENSITY], claim-campaign:REGION[:FROM:TO:SHARE].
    #[arg(long)]
    scenario: Vec<Scenario>,
    /// Share of deliberately malformed lines.
    #[arg(long, default_value_t = 0.0)]
    malformed_rate: f64,
    /// Share of exact redeliveries.
    #[arg(long, default_value_t = 0.02)]
    duplicate_rate: f64,
    /// First timestamp (RFC 3339).
    #[arg(long)]
    start: Option<chrono::DateTime<chrono::Utc>>,
    /// Average posts per minute of event time.
    #[arg(long, default_value_t = 200.0)]
    posts_per_minute: f64,
    /// Output file (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,librdkafka=warn,rdkafka=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sarap: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            if let Some(s) = e.downcast_ref::<StartupError>() {
                eprintln!("sarap: refusing to start: {s}");
                return ExitCode::from(2);
            }
            eprintln!("sarap: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(c: &Common) -> anyhow::Result<Loaded> {
    Ok(roles::load(c.config.as_deref(), c.brokers.as_deref())?)
}

async fn dispatch(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Run(a) => {
            let loaded = load(&a.common)?;
            let sample = SynthOptions {
                seed: a.seed,
                posts: a.sample_posts,
                scenarios: a.scenario,
                ..SynthOptions::default()
            };
            sarap::roles::run_all(loaded, a.sample_rate, sample).await?;
        }
        Command::Ingest(c) => roles::ingest_main(load(&c)?).await?,
        Command::Analyze(c) | Command::Sink(c) => {
            load(&c)?;
            anyhow::bail!("this role is not part of this build yet (see the open issues); `sarap run` runs the roles that are");
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => return Ok(policy_check(&file)),
        Command::Replay(a) => {
            let loaded = load(&a.common)?;
            let brokers = loaded.config.kafka.brokers.clone();
            anyhow::ensure!(
                !brokers.is_empty(),
                "kafka.brokers: no brokers configured (set SARAP_BROKERS or --brokers)"
            );
            let lines = sarap::replay::read_lines(&a.file)?;
            let opts = sarap::replay::ReplayOptions {
                topic: a.topic.unwrap_or(loaded.config.kafka.topics.raw.clone()),
                rate: a.rate,
                progress: !a.quiet,
            };
            let p = sarap_bus::kafka::producer(&loaded.config.kafka, &brokers)?;
            let total = lines.len() as u64;
            let n = sarap::replay::replay(&p, lines, Some(total), &opts, None).await?;
            eprintln!("replayed {n} posts into {}", opts.topic);
        }
        Command::Synth(a) => synth(a)?,
        Command::Bench {
            command:
                BenchCommand::Ingest {
                    posts,
                    partitions,
                    rounds,
                    common,
                },
        } => {
            let r = sarap::bench::bench_ingest(load(&common)?, posts, partitions, rounds).await?;
            println!("{}", r.json_line());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_check(file: &std::path::Path) -> ExitCode {
    match sarap_core::Policy::load(file) {
        Ok(p) => {
            println!("ok: {} satisfies every floor", file.display());
            println!("policy hash: {}", p.hash());
            ExitCode::SUCCESS
        }
        Err(sarap_core::PolicyError::Floors(v)) => {
            for violation in &v {
                println!("violation: {violation}");
            }
            eprintln!(
                "{}: {} violation(s); no role will start with this policy",
                file.display(),
                v.len()
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn synth(a: SynthArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = SynthOptions {
        seed: a.seed,
        posts: a.posts,
        scenarios: a.scenario,
        malformed_rate: a.malformed_rate,
        duplicate_rate: a.duplicate_rate,
        posts_per_minute: a.posts_per_minute,
        ..SynthOptions::default()
    };
    if let Some(s) = a.start {
        opts.start = s;
    }
    let out: Box<dyn Write> = match &a.out {
        Some(p) => {
            Box::new(std::fs::File::create(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = std::io::BufWriter::new(out);
    for line in sarap::synth::generate(&opts) {
        w.write_all(&line.to_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}
