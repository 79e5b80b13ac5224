//! `sarap`: one binary, one role per subcommand, plus the tools around them.

use clap::{Args, Parser, Subcommand};
use sarap::roles::{self, Loaded, StartupError};
use sarap::synth::{Scenario, SynthOptions};
use std::path::PathBuf;
use std::process::ExitCode;

// The stages allocate many small strings per post on several threads; glibc's allocator
// spent ~15% of the ingest transform's CPU in malloc/free, mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Role: posts.clean → posts.scored, audit.decisions and factcheck.requests.
    Analyze(Common),
    /// Role: posts.scored → signals.regional, store (SQLite or PostgreSQL) and HTTP API.
    Sink(Common),
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Score a JSONL file of {"id","text"} offline; one JSON line per input on stdout.
    Classify(ClassifyArgs),
    /// Train the heads and calibrate the claim threshold from the labelled data.
    Train(TrainArgs),
    /// Per-language precision, recall and F1 of the committed heads on the test split.
    Eval(EvalArgs),
    /// Produce a JSONL file of raw posts into posts.raw.
    Replay(ReplayArgs),
    /// Write a realistic synthetic stream of raw posts as JSONL.
    Synth(SynthArgs),
    /// The auditor's workbench: verify the audit log, show, sample and review decisions.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
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
    /// Ingest throughput against consume + JSON parse alone, with the no-analysis floor.
    Ingest {
        /// Synthetic posts to push through.
        #[arg(long, default_value_t = 30_000)]
        posts: usize,
        /// Partitions of the bench topics.
        #[arg(long, default_value_t = 12)]
        partitions: i32,
        /// Rounds of reference, floor, then ingest; the ratio is the median of the rounds' ratios.
        #[arg(long, default_value_t = 9)]
        rounds: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Sink throughput (aggregate, store, publish) against consume + JSON parse alone; memory at 1× and 10×.
    Sink {
        /// Synthetic scored posts to push through (the memory run also uses 10× this).
        #[arg(long, default_value_t = 30_000)]
        posts: usize,
        /// Partitions of the bench topic.
        #[arg(long, default_value_t = 12)]
        partitions: i32,
        /// Rounds of reference then sink; the ratio is the median of the rounds' ratios.
        #[arg(long, default_value_t = 9)]
        rounds: usize,
        /// Event-time density of the throughput stream (default: the sizing's 1,000 posts/s).
        #[arg(long, default_value_t = 60_000.0)]
        posts_per_minute: f64,
        /// Internal: one memory run of this many posts in this process, printed as JSON.
        #[arg(long, hide = true)]
        memory_run: Option<usize>,
        #[command(flatten)]
        common: Common,
    },
    /// Analyze path (batching, cache, heads, claims, audit) against bare ONNX Runtime.
    Analyze {
        /// Unique texts drawn from the labelled data.
        #[arg(long, default_value_t = 1500)]
        unique: usize,
        /// Seed of the stream.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
struct ClassifyArgs {
    /// JSONL input, one {"id","text"} per line.
    #[arg(long)]
    input: PathBuf,
    /// Claims registry (JSONL: claim_id, verdict, lang, text, source); default: analyze.claims.
    #[arg(long)]
    claims: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct DataArgs {
    /// Labelled corpus folder (kk.jsonl, ru.jsonl, en.jsonl).
    #[arg(long, default_value = "data/labelled")]
    labelled: PathBuf,
    /// Claims registry.
    #[arg(long, default_value = "data/claims/registry.jsonl")]
    registry: PathBuf,
    /// Labelled (post, claim) pairs.
    #[arg(long, default_value = "data/claims/pairs.jsonl")]
    pairs: PathBuf,
}

impl From<DataArgs> for sarap_analyzers::train::DataPaths {
    fn from(a: DataArgs) -> Self {
        sarap_analyzers::train::DataPaths {
            labelled: a.labelled,
            registry: a.registry,
            pairs: a.pairs,
        }
    }
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Where the weights and cards go (default: analyze.heads_dir).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk every hash chain and report the first broken link (exit 1 when there is one).
    Verify {
        /// A JSONL export of the log instead of the store.
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        store: AuditStore,
    },
    /// A decision with its model cards, policy hash, scores, thresholds, labels, explanation.
    Show {
        /// Decision id.
        id: String,
        #[command(flatten)]
        store: AuditStore,
    },
    /// A stratified sample for human review (equal numbers per stratum), one JSON line each.
    Sample {
        /// How many decisions.
        #[arg(long, default_value_t = 20)]
        n: usize,
        /// Strata: lang, region, label (comma-separated).
        #[arg(long, default_value = "lang,region")]
        by: String,
        /// Seed of the draw.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        store: AuditStore,
    },
    /// Record your verdict on a decision (who and when are recorded).
    Review {
        /// Decision id.
        id: String,
        /// agree or disagree.
        #[arg(long)]
        verdict: String,
        /// Why (required to disagree).
        #[arg(long, default_value = "")]
        note: String,
        /// Who reviews (default: SARAP_AUDITOR, else USER).
        #[arg(long)]
        auditor: Option<String>,
        #[command(flatten)]
        store: AuditStore,
    },
    /// Agreement between the model and the auditors per language and label.
    Agreement {
        #[command(flatten)]
        store: AuditStore,
    },
}

/// Where the audit log is.
#[derive(Args)]
struct AuditStore {
    /// Store URL (default: sink.store_url / SARAP_STORE_URL).
    #[arg(long)]
    store: Option<String>,
    #[command(flatten)]
    common: Common,
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
    /// Scenarios injected into the sample stream's history part, e.g. hostility-wave:almaty:0.6:0.9:0.6.
    #[arg(long)]
    scenario: Vec<Scenario>,
    /// Hours of past event time the sample stream starts with (then it goes on live).
    #[arg(long, default_value_t = 6.0)]
    history_hours: f64,
    /// How much faster than real time the history is fed (event seconds per second).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Feed this JSONL file (e.g. from `sarap synth`) instead of the generated stream.
    #[arg(long)]
    sample_file: Option<PathBuf>,
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

async fn audit(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    use sarap::audit_cli as a;
    let ok = |b: bool| {
        if b {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    };
    Ok(match cmd {
        AuditCommand::Verify { file, store } => ok(a::verify(
            &load(&store.common)?,
            store.store.as_deref(),
            file.as_deref(),
        )
        .await?),
        AuditCommand::Show { id, store } => {
            ok(a::show(&load(&store.common)?, store.store.as_deref(), &id).await?)
        }
        AuditCommand::Sample { n, by, seed, store } => {
            a::sample(&load(&store.common)?, store.store.as_deref(), n, &by, seed).await?;
            ExitCode::SUCCESS
        }
        AuditCommand::Review {
            id,
            verdict,
            note,
            auditor,
            store,
        } => {
            let who = auditor
                .or_else(|| std::env::var("SARAP_AUDITOR").ok())
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_default();
            ok(a::review(
                &load(&store.common)?,
                store.store.as_deref(),
                &id,
                &verdict,
                &note,
                &who,
            )
            .await?)
        }
        AuditCommand::Agreement { store } => {
            a::agreement(&load(&store.common)?, store.store.as_deref()).await?;
            ExitCode::SUCCESS
        }
    })
}

fn load(c: &Common) -> anyhow::Result<Loaded> {
    Ok(roles::load(c.config.as_deref(), c.brokers.as_deref())?)
}

async fn dispatch(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Run(a) => {
            let loaded = load(&a.common)?;
            let sample = match a.sample_file {
                Some(f) => sarap::roles::SampleFeed::File(f),
                None => sarap::roles::SampleFeed::Generated {
                    opts: SynthOptions {
                        seed: a.seed,
                        posts: a.sample_posts,
                        scenarios: a.scenario,
                        ..SynthOptions::default()
                    },
                    history_hours: a.history_hours,
                    speed: a.speed,
                },
            };
            sarap::roles::run_all(loaded, a.sample_rate, sample).await?;
        }
        Command::Ingest(c) => roles::ingest_main(load(&c)?).await?,
        Command::Analyze(c) => sarap::analyze::analyze_main(load(&c)?).await?,
        Command::Classify(a) => {
            let loaded = load(&a.common)?;
            let n = tokio::task::block_in_place(|| {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                sarap::analyze::classify(&loaded, &a.input, a.claims.as_deref(), &mut out)
            })?;
            eprintln!("classified {n} posts");
        }
        Command::Train(a) => {
            let loaded = load(&a.common)?;
            let out = a.out.unwrap_or(loaded.config.analyze.heads_dir.clone());
            let report = tokio::task::block_in_place(|| {
                sarap::analyze::train(&loaded, a.data.into(), &out)
            })?;
            print!("{report}");
            eprintln!("heads and cards written to {}", out.display());
        }
        Command::Eval(a) => {
            let loaded = load(&a.common)?;
            let (report, ok) =
                tokio::task::block_in_place(|| sarap::analyze::eval(&loaded, a.data.into()))?;
            print!("{report}");
            if !ok {
                eprintln!("below target: macro-F1 >= 0.80 (sentiment) and >= 0.85 (hostility) in every language");
                return Ok(ExitCode::from(1));
            }
        }
        Command::Sink(c) => sarap::sink::sink_main(load(&c)?).await?,
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
        Command::Audit { command } => return audit(command).await,
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
        Command::Bench {
            command:
                BenchCommand::Sink {
                    posts,
                    partitions,
                    rounds,
                    posts_per_minute,
                    memory_run,
                    common,
                },
        } => {
            let loaded = load(&common)?;
            if let Some(n) = memory_run {
                println!(
                    "{}",
                    sarap::bench_sink::memory_run(&loaded, n, partitions).await?
                );
                return Ok(ExitCode::SUCCESS);
            }
            let opts = sarap::bench_sink::SinkBenchOptions {
                posts,
                partitions,
                rounds,
                posts_per_minute,
                config: common.config.clone(),
            };
            let r = sarap::bench_sink::bench_sink(loaded, &opts).await?;
            println!("{}", r.json_line());
        }
        Command::Bench {
            command:
                BenchCommand::Analyze {
                    unique,
                    seed,
                    common,
                },
        } => {
            let loaded = load(&common)?;
            let r = tokio::task::block_in_place(|| {
                sarap::bench_analyze::bench_analyze(&loaded, unique, seed)
            })?;
            println!("{}", serde_json::to_string(&r)?);
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
