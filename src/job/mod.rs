//! The job file: its TOML shape, and its validation into a [`Job`] the rest
//! of cvm trusts.
//!
//! A job file is parsed with unknown keys denied, then checked once; every
//! error names the key it is about. Relative paths in a job file are read
//! relative to the job file's own folder, so a job runs the same from any
//! working directory; paths given on the command line are relative to the
//! working directory, as usual for command-line arguments.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

mod campaigns;
mod models;
mod operations;
mod outputs;
mod quality;
mod screening;
mod sources;

pub use crate::storage::StorageSettings;
pub use campaigns::{Campaign, ControlSettings, Ranking, Selection};
pub use models::{BandMode, ChurnModelChoice, ModelSettings, VALUE_CRITERIA};
pub use operations::{PublishSettings, ScheduleSettings};
pub use outputs::{ExportSettings, KpiSettings, MsisdnPolicy};
pub use quality::{QualitySettings, SourceBand};
pub use screening::{
    BillJumpRule, ConfirmedCaseRule, CreditHeavyRule, FRAUD_REVIEW, FraudModelRule, NewLineBurstRule,
    RechargeMismatchRule, ScreeningSettings, SimBoxRule, UsageProfileRule, UsageSpikeRule,
};
pub use sources::{Compression, DEFAULT_MAX_FIELDS, DEFAULT_MAX_LINE_BYTES, Format, Source};

use crate::contract::SourceKind;
use crate::engine::EngineOptions;
use crate::storage::StoreUrl;

/// A job file that could not be read or does not make sense.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot read job file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("job file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("job file {path}: `{key}`: {message}")]
    Invalid { path: PathBuf, key: String, message: String },
}

/// The job file as written (strict: unknown keys are errors).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    name: String,
    input_root: String,
    warehouse: String,
    #[serde(default = "default_currency")]
    currency: String,
    #[serde(default)]
    rejects: RejectsFile,
    #[serde(default)]
    engine: EngineFile,
    #[serde(default)]
    sources: BTreeMap<String, sources::SourceFile>,
    #[serde(default)]
    churn: models::ChurnFile,
    #[serde(default)]
    retention: models::RetentionFile,
    #[serde(default)]
    value: models::ValueFile,
    #[serde(default)]
    value_score: models::ValueScoreFile,
    #[serde(default)]
    tiers: models::TiersFile,
    #[serde(default)]
    quadrant: models::QuadrantFile,
    #[serde(default)]
    lifecycle: models::LifecycleFile,
    #[serde(default)]
    kpi: outputs::KpiFile,
    #[serde(default)]
    screening: screening::ScreeningFile,
    #[serde(default)]
    quality: quality::QualityFile,
    campaigns: Option<Vec<campaigns::CampaignFile>>,
    #[serde(default)]
    control: campaigns::ControlFile,
    #[serde(default)]
    exports: outputs::ExportsFile,
    schedule: Option<operations::ScheduleFile>,
    #[serde(default)]
    publish: operations::PublishFile,
    #[serde(default)]
    storage: operations::StorageFile,
}

fn default_currency() -> String {
    "EUR".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectsFile {
    #[serde(default = "default_max_rate")]
    max_rate: f64,
}

impl Default for RejectsFile {
    fn default() -> Self {
        Self { max_rate: default_max_rate() }
    }
}

fn default_max_rate() -> f64 {
    0.01
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineFile {
    target_partitions: Option<usize>,
    /// e.g. "4GiB", "512MiB", or bytes
    memory_limit: Option<toml::Value>,
    spill_dir: Option<String>,
    /// "local" (the default) or a Ballista scheduler, "df://HOST:PORT"
    engine: Option<String>,
}

/// A validated job.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    /// Where the job file was read from.
    pub path: PathBuf,
    /// SHA-256 of the job file's bytes, hex: identifies the configuration in manifests.
    pub config_hash: String,
    pub input_root: StoreUrl,
    pub warehouse: StoreUrl,
    /// ISO 4217 code, upper case.
    pub currency: String,
    /// Largest share of a source's rows that may be rejected before the run fails.
    pub max_reject_rate: f64,
    /// The engine's parallelism, memory limit and spill folder (`[engine]`).
    pub engine: EngineOptions,
    /// Every source of the contract, in the order they are ingested.
    pub sources: Vec<Source>,
    /// Settings of the value models (docs/models.md).
    pub models: ModelSettings,
    pub kpi: KpiSettings,
    /// The fraud screening's rules and levels (`[screening]`).
    pub screening: ScreeningSettings,
    /// Each source against its recent history, before publishing (`[quality]`).
    pub quality: QualitySettings,
    /// The campaigns in priority order: a subscriber goes to the first that selects them.
    pub campaigns: Vec<Campaign>,
    /// How the campaigns' control groups are drawn (`[control]`).
    pub control: ControlSettings,
    pub exports: ExportSettings,
    /// When `cvm schedule` runs the job (none: only when run by hand or by another scheduler).
    pub schedule: Option<ScheduleSettings>,
    pub publish: PublishSettings,
    pub storage: StorageSettings,
}

/// Values given on the command line that replace the job file's.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub input_root: Option<String>,
    pub warehouse: Option<String>,
    /// `--memory-limit`, e.g. "2GiB".
    pub memory_limit: Option<String>,
    /// `--spill-dir`.
    pub spill_dir: Option<String>,
    /// `--engine`: "local" or "df://HOST:PORT".
    pub engine: Option<String>,
    /// `--refit`: fit the churn and prepaid models whatever fit is stored.
    pub refit: bool,
}

impl Job {
    /// Reads, parses and validates a job file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Job, JobError> {
        let bytes = std::fs::read(path).map_err(|source| JobError::Read { path: path.to_path_buf(), source })?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| JobError::Parse { path: path.to_path_buf(), message: "not UTF-8 text".to_string() })?;
        let file: JobFile = toml::from_str(&text)
            .map_err(|e| JobError::Parse { path: path.to_path_buf(), message: e.to_string().trim_end().to_string() })?;
        let hash = hex(&Sha256::digest(&bytes));
        validate(file, path, hash, overrides)
    }

    pub fn source(&self, kind: SourceKind) -> &Source {
        self.sources.iter().find(|s| s.kind == kind).expect("every source kind is present")
    }
}

fn validate(file: JobFile, path: &Path, config_hash: String, overrides: &Overrides) -> Result<Job, JobError> {
    let invalid =
        |key: &str, message: String| JobError::Invalid { path: path.to_path_buf(), key: key.to_string(), message };
    let job_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let job_dir = if job_dir.as_os_str().is_empty() { PathBuf::from(".") } else { job_dir };

    check_name(&file.name, &invalid)?;
    let (input_root, warehouse) = locations(&file, overrides, &job_dir, &invalid)?;
    let currency = file.currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(invalid("currency", format!("'{}' is not a three-letter ISO 4217 code", file.currency)));
    }
    if !(0.0..=1.0).contains(&file.rejects.max_rate) || file.rejects.max_rate.is_nan() {
        return Err(invalid("rejects.max_rate", format!("{} is not a share between 0 and 1", file.rejects.max_rate)));
    }
    let engine = validate_engine(&file.engine, overrides, &job_dir, &invalid)?;
    sources::check_names(&file.sources, &invalid)?;
    let mut models = models::ModelFiles {
        churn: file.churn,
        retention: file.retention,
        value: file.value,
        value_score: file.value_score,
        tiers: file.tiers,
        quadrant: file.quadrant,
        lifecycle: file.lifecycle,
    }
    .validate(&invalid)?;
    models.churn_refit_now = overrides.refit;
    let kpi = outputs::validate_kpi(file.kpi, &invalid)?;
    let control = campaigns::validate_control(file.control, &invalid)?;
    let campaigns = campaigns::validate_campaigns(file.campaigns, &control, &job_dir, &invalid)?;
    let exports = outputs::validate_exports(file.exports, &job_dir, &warehouse, &invalid)?;
    let schedule = operations::validate_schedule(file.schedule, &invalid)?;
    let publish = operations::validate_publish(file.publish, &invalid)?;
    let storage = operations::validate_storage(file.storage, &invalid)?;
    let screening = screening::validate(file.screening, &invalid)?;
    let quality = quality::validate(file.quality, &invalid)?;
    let sources = sources::validate_all(file.sources, &input_root, &invalid)?;
    Ok(Job {
        name: file.name,
        path: path.to_path_buf(),
        config_hash,
        input_root,
        warehouse,
        currency,
        max_reject_rate: file.rejects.max_rate,
        engine,
        sources,
        models,
        kpi,
        screening,
        quality,
        campaigns,
        control,
        exports,
        schedule,
        publish,
        storage,
    })
}

/// How a section's check reports a bad key: the key and what is wrong with it.
type Invalid<'a> = &'a dyn Fn(&str, String) -> JobError;

/// A share in [0, 1], else the key's error.
fn share(key: &str, value: f64, invalid: Invalid) -> Result<f64, JobError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(key, format!("{value} is not a share between 0 and 1")))
    }
}

fn check_name(name: &str, invalid: &dyn Fn(&str, String) -> JobError) -> Result<(), JobError> {
    if name.trim().is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(invalid("name", format!("'{name}' must be non-empty and use only letters, digits, _ and -")));
    }
    Ok(())
}

/// input_root and warehouse: the command line's (relative to the working
/// directory), else the job file's (relative to its folder).
fn locations(
    file: &JobFile,
    overrides: &Overrides,
    job_dir: &Path,
    invalid: &dyn Fn(&str, String) -> JobError,
) -> Result<(StoreUrl, StoreUrl), JobError> {
    let cwd = PathBuf::from(".");
    let input_root = match &overrides.input_root {
        Some(u) => StoreUrl::parse(u, &cwd).map_err(|e| invalid("--input-root", e.to_string()))?,
        None => StoreUrl::parse(&file.input_root, job_dir).map_err(|e| invalid("input_root", e.to_string()))?,
    };
    let warehouse = match &overrides.warehouse {
        Some(u) => StoreUrl::parse(u, &cwd).map_err(|e| invalid("--warehouse", e.to_string()))?,
        None => StoreUrl::parse(&file.warehouse, job_dir).map_err(|e| invalid("warehouse", e.to_string()))?,
    };
    Ok((input_root, warehouse))
}

/// `[engine]`, each key replaced by its command-line option when given.
fn validate_engine(
    file: &EngineFile,
    overrides: &Overrides,
    job_dir: &Path,
    invalid: &dyn Fn(&str, String) -> JobError,
) -> Result<EngineOptions, JobError> {
    if file.target_partitions == Some(0) {
        return Err(invalid("engine.target_partitions", "must be at least 1".to_string()));
    }
    let memory_limit = match (&overrides.memory_limit, &file.memory_limit) {
        (Some(text), _) => {
            Some(parse_bytes(&toml::Value::String(text.clone())).map_err(|m| invalid("--memory-limit", m))?)
        }
        (None, Some(value)) => Some(parse_bytes(value).map_err(|m| invalid("engine.memory_limit", m))?),
        (None, None) => None,
    };
    let spill_dir = match (&overrides.spill_dir, &file.spill_dir) {
        (Some(dir), _) => Some(PathBuf::from(dir)),
        (None, Some(dir)) => Some(job_dir.join(dir)),
        (None, None) => None,
    };
    let cluster = match (&overrides.engine, &file.engine) {
        (Some(text), _) => parse_engine(text).map_err(|m| invalid("--engine", m))?,
        (None, Some(text)) => parse_engine(text).map_err(|m| invalid("engine.engine", m))?,
        (None, None) => None,
    };
    Ok(EngineOptions { target_partitions: file.target_partitions, memory_limit, spill_dir, cluster })
}

/// A size in bytes: an integer, or a number with a unit (`KiB`, `MiB`,
/// `GiB`, `TiB`, or `KB`, `MB`, `GB`, `TB` as powers of 1000; `K`, `M`,
/// `G`, `T` alone mean the binary ones, as in `ulimit` and Kubernetes' `Gi`).
pub fn parse_bytes(value: &toml::Value) -> Result<u64, String> {
    let text = match value {
        toml::Value::Integer(n) if *n > 0 => return Ok(*n as u64),
        toml::Value::String(s) => s.trim(),
        other => return Err(format!("'{other}' is not a size such as \"4GiB\" or \"512MiB\"")),
    };
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("'{text}' is not a size such as \"4GiB\" or \"512MiB\""))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "ki" | "kib" => 1024.0,
        "m" | "mi" | "mib" => 1024f64.powi(2),
        "g" | "gi" | "gib" => 1024f64.powi(3),
        "t" | "ti" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        other => return Err(format!("unknown unit '{other}' in '{text}' (use KiB, MiB, GiB or TiB)")),
    };
    let bytes = (number * scale).round();
    if bytes < 1.0 || !bytes.is_finite() {
        return Err(format!("'{text}' must be a positive size"));
    }
    Ok(bytes as u64)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// "local" (None) or a Ballista scheduler's address, "df://HOST:PORT".
pub fn parse_engine(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text == "local" {
        return Ok(None);
    }
    let url = url::Url::parse(text).map_err(|_| format!("'{text}' is neither \"local\" nor df://HOST:PORT"))?;
    if url.scheme() != "df" || url.host_str().is_none_or(str::is_empty) || url.port().is_none() {
        return Err(format!("'{text}' is neither \"local\" nor df://HOST:PORT"));
    }
    Ok(Some(format!("df://{}:{}", url.host_str().unwrap_or_default(), url.port().unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Job, JobError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        std::fs::write(&path, text).unwrap();
        Job::load(&path, &Overrides::default())
    }

    const MINIMAL: &str = "name = \"t\"\ninput_root = \"in\"\nwarehouse = \"wh\"\n";

    #[test]
    fn memory_limits_read_with_units() {
        let size = |s: &str| parse_bytes(&toml::Value::String(s.into()));
        assert_eq!(size("4GiB"), Ok(4 << 30));
        assert_eq!(size("512 MiB"), Ok(512 << 20));
        assert_eq!(size("2G"), Ok(2 << 30));
        assert_eq!(size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_bytes(&toml::Value::Integer(1000)), Ok(1000));
        assert!(size("4 parsecs").unwrap_err().contains("unknown unit"));
        assert!(size("-1GiB").is_err());
        let job = load_str(&format!("{MINIMAL}[engine]\nmemory_limit = \"64MiB\"\nspill_dir = \"spill\"\n")).unwrap();
        assert_eq!(job.engine.memory_limit, Some(64 << 20));
        assert!(job.engine.spill_dir.unwrap().ends_with("spill"));
    }

    #[test]
    fn minimal_job_gets_the_contract_defaults() {
        let job = load_str(MINIMAL).unwrap();
        assert_eq!(job.currency, "EUR");
        assert_eq!(job.max_reject_rate, 0.01);
        let cdr = job.source(SourceKind::Cdr);
        assert_eq!(cdr.format, Format::Csv);
        assert!(cdr.url.as_str().ends_with("/in/cdr/"), "{}", cdr.url.as_str());
        assert_eq!(cdr.delimiter, b',');
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load_str(&format!("{MINIMAL}colour = \"blue\"\n")).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn unknown_source_key_is_named() {
        let err = load_str(&format!("{MINIMAL}[sources.cdr]\nformat = \"csv\"\nspeed = 3\n")).unwrap_err().to_string();
        assert!(err.contains("speed"), "{err}");
    }

    #[test]
    fn impossible_values_name_their_key() {
        for (extra, key) in [
            ("[rejects]\nmax_rate = 1.5\n", "rejects.max_rate"),
            ("[sources.cdr]\nformat = \"xml\"\n", "sources.cdr.format"),
            ("[sources.cdr]\ndelimiter = \";;\"\n", "sources.cdr.delimiter"),
            ("[sources.cdr]\ntimezone = \"Mars/Olympus\"\n", "sources.cdr.timezone"),
            ("[sources.cdr.columns]\nweight = \"W\"\n", "sources.cdr.columns.weight"),
            ("[sources.billing]\nenabled = false\n", "sources.billing.enabled"),
            ("[sources.weather]\n", "sources.weather"),
            ("[sources.cdr]\ndate_format = \"%Q\"\n", "sources.cdr.date_format"),
            ("[kpi]\ntop_share = 1.5\n", "kpi.top_share"),
            ("[kpi]\ncost_per_complaint = -1\n", "kpi.cost_per_complaint"),
            ("[[campaigns]]\nname = \"Bad Name\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\n", "campaigns[0].name"),
            (
                "[[campaigns]]\nname = \"fraud_review\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\n",
                "campaigns[0].name",
            ),
            ("[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\n", "campaigns[0].rule"),
            ("[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nsql = \"nope\"\n", "campaigns[0].sql"),
            (
                "[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nrule = \"true\"\nrank_by = \"clv\"\n",
                "campaigns[0].reason",
            ),
            ("[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\ncap = 0\n", "campaigns[0].cap"),
            ("[exports]\nmsisdn = \"sometimes\"\n", "exports.msisdn"),
            ("[control]\nshare = 1.0\n", "control.share"),
            (
                "[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\ncooldown_days = 4000\n",
                "campaigns[0].cooldown_days",
            ),
            (
                "[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\ncontrol_share = -0.1\n",
                "campaigns[0].control_share",
            ),
            (
                "[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\nranking = \"risk\"\n",
                "campaigns[0].ranking",
            ),
            (
                "[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\nuplift_horizon_days = 0\n",
                "campaigns[0].uplift_horizon_days",
            ),
        ] {
            let err = load_str(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "expected {key} in: {err}");
        }
    }

    #[test]
    fn a_job_without_campaigns_gets_the_four_shipped_ones() {
        let job = load_str(MINIMAL).unwrap();
        let names: Vec<&str> = job.campaigns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["retention_priority", "upsell_potential", "winback_dormant", "loyalty_care"]);
        assert!(job.campaigns.iter().all(|c| c.cap.is_none() && matches!(c.selection, Selection::File { .. })));
        assert_eq!(job.exports.msisdn, MsisdnPolicy::Drop);
        assert!(job.exports.root.as_str().ends_with("/wh/_exports/"), "{}", job.exports.root.as_str());
    }

    #[test]
    fn control_groups_default_to_a_tenth_and_a_campaign_may_set_its_own() {
        let job = load_str(MINIMAL).unwrap();
        assert_eq!(job.control, ControlSettings { seed: 1, share: 0.1 });
        assert!(job.campaigns.iter().all(|c| c.control_share == 0.1));
        let job = load_str(&format!(
            "{MINIMAL}[control]\nseed = 7\nshare = 0.2\n\
             [[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\n\
             [[campaigns]]\nname = \"b\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\ncontrol_share = 0\n"
        ))
        .unwrap();
        assert_eq!(job.control, ControlSettings { seed: 7, share: 0.2 });
        let shares: Vec<f64> = job.campaigns.iter().map(|c| c.control_share).collect();
        assert_eq!(shares, [0.2, 0.0]);
    }

    #[test]
    fn campaigns_rank_by_their_score_unless_they_choose_uplift() {
        let job = load_str(&format!(
            "{MINIMAL}[[campaigns]]\nname = \"a\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\n\
             [[campaigns]]\nname = \"b\"\nchannel = \"sms\"\nsql = \"loyalty_care\"\nranking = \"uplift\"\n\
             uplift_horizon_days = 90\n"
        ))
        .unwrap();
        let rankings: Vec<(Ranking, u32)> = job.campaigns.iter().map(|c| (c.ranking, c.uplift_horizon_days)).collect();
        assert_eq!(rankings, [(Ranking::Score, 60), (Ranking::Uplift, 90)]);
    }

    #[test]
    fn shipped_jobs_are_valid() {
        for name in ["demo", "nightly"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs").join(format!("{name}.toml"));
            let job = Job::load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(job.name, name);
        }
    }

    #[test]
    fn config_hash_changes_with_the_file() {
        let a = load_str(MINIMAL).unwrap().config_hash;
        let b = load_str(&format!("{MINIMAL}currency = \"USD\"\n")).unwrap().config_hash;
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn engine_is_local_or_a_scheduler_address() {
        assert_eq!(parse_engine("local"), Ok(None));
        assert_eq!(parse_engine("df://10.0.0.5:50050"), Ok(Some("df://10.0.0.5:50050".to_string())));
        for bad in ["ballista", "df://host", "http://host:50050", "df://:50050"] {
            assert!(parse_engine(bad).is_err(), "{bad}");
        }
    }
}
