//! The command line: `serve` (default), `migrate`, `user create`, `keys rotate`.

mod schema;

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::accounts::{self, Actor};
use crate::auth::jwt::KeyFile;
use crate::config::Settings;
use crate::db::Location;
use crate::domain::Role;
use crate::domain::certificate::CertificateStatus;
use crate::startup::Application;
use crate::state::AppState;

#[derive(Parser, Debug)]
#[command(
    name = "csr-assess",
    version,
    about = "Consumer-protection self-assessment service (serves the API by default)"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply migrations, load built-in data and serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the token-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Fill the database with synthetic enterprises, self-assessments and certificates.
    SeedDemo {
        #[arg(long, default_value_t = 100)]
        enterprises: u64,
        #[arg(long, default_value_t = 1)]
        submissions_per_enterprise: u64,
        /// Complaints per enterprise, received over the last two years (no personal data).
        #[arg(long, default_value_t = 0)]
        complaints_per_enterprise: u64,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Render PDF reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Work with certificates.
    #[command(subcommand)]
    Certificate(CertificateCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Work with assessment-schema files.
    #[command(subcommand)]
    Schema(SchemaCommand),
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Render the self-assessment report of one submission (`--submission ID -o FILE`) or of
    /// every submission (`--all --out DIR`).
    Render {
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        submission: Option<i64>,
        #[arg(short = 'o', long, requires = "submission")]
        output: Option<std::path::PathBuf>,
        #[arg(long)]
        all: bool,
        #[arg(long, requires = "all")]
        out: Option<std::path::PathBuf>,
        /// `zh` (default) or `en`.
        #[arg(long, default_value = "zh")]
        lang: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertificateCommand {
    /// Verify a signed certificate (the `signed` object of the public certificate JSON, or the
    /// whole of it) against published keys: the signature (EdDSA only, no unknown fields, no
    /// duplicate keys), the expiry date and, in the whole JSON, the status it was fetched with.
    /// With `--online`, also asks the issuer for the certificate's status now. Exits 1 unless
    /// all hold.
    Verify {
        file: std::path::PathBuf,
        /// The JWK set from /.well-known/csr-assess/keys.json (default: the issuer's, with
        /// `--online`; otherwise this installation's keys).
        #[arg(long)]
        keys: Option<std::path::PathBuf>,
        /// The issuer's base URL (e.g. https://csr.example.org): the certificate must be on
        /// record there, with the same signed content, and active.
        #[arg(long)]
        online: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Verify the hash chain and the signed checkpoints; exits 1 naming the first broken entry.
    /// A log without checkpoints fails, and so does one whose newest checkpoint is older than
    /// the checkpoint interval plus a minute (see --max-age-secs).
    Verify {
        /// A chain head published earlier (/.well-known/csr-assess/audit-head.json): the log must
        /// still hold that entry with that hash, or it was rewritten or cut off.
        #[arg(long)]
        against: Option<std::path::PathBuf>,
        /// How old the newest checkpoint may be; 0 skips the check (a stopped service's copy).
        #[arg(long)]
        max_age_secs: Option<u64>,
    },
    /// Sign a checkpoint of the current head.
    Checkpoint,
}

#[derive(Subcommand, Debug)]
pub enum SchemaCommand {
    /// Check schema files against the meta-schema and the semantic rules; the predecessor named
    /// in a file is looked up among the other files given, then among the shipped versions.
    Validate {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// Show what changed from version A to version B (files, or labels of shipped versions).
    Diff { from: String, to: String },
    /// List the shipped versions with their content hashes.
    List,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an administrator, reviewer or industry-body account. The password is read from
    /// standard input unless --password-env names a variable holding it.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "reviewer", "industry_body"])]
        role: String,
        /// Reviewers: GB/T 2260 region prefix of their association (omit for national).
        #[arg(long)]
        region: Option<String>,
        /// Industry bodies: comma-separated GB/T 4754 code prefixes.
        #[arg(long, value_delimiter = ',')]
        industries: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Name of an environment variable that holds the password.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Disable an account: logins are refused and every session ends at once.
    Disable {
        #[arg(long)]
        email: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Re-enable a disabled account.
    Enable {
        #[arg(long)]
        email: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new signing key and make it active; tokens signed by older keys stay valid.
    Rotate,
    /// Retire a key that is no longer active: access tokens it signed stop working (after a
    /// restart); certificates and audit checkpoints it signed still verify.
    Retire {
        /// Key ids are random base64url and may begin with `-`.
        #[arg(long, allow_hyphen_values = true)]
        kid: String,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init(cli.settings.log_format);
    let result = actix_web::rt::System::new().block_on(dispatch(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.settings).await,
        Command::Migrate => {
            let applied = Location::parse(&cli.settings.database_url()).prepare()?;
            eprintln!("applied {} migration(s)", applied.len());
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            role,
            region,
            industries,
            display_name,
            password_env,
        }) => {
            let password = match password_env {
                Some(var) => std::env::var(&var)
                    .map_err(|_| format!("environment variable {var} is not set"))?,
                None => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
                    s.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let role = Role::parse(&role).ok_or("unknown role")?;
            let account = accounts::staff_account(
                &email,
                &password,
                role,
                region.as_deref(),
                &industries,
                display_name,
            )
            .map_err(|e| describe(&e))?;
            let state = AppState::init(cli.settings).await?;
            let user = accounts::create_user(&state, account, Actor::default())
                .await
                .map_err(|e| describe(&e))?;
            eprintln!("created {} user {} (id {})", user.role, user.email, user.id);
            Ok(())
        }
        Command::User(UserCommand::Disable { email, reason }) => {
            set_disabled(cli.settings, &email, true, reason).await
        }
        Command::User(UserCommand::Enable { email, reason }) => {
            set_disabled(cli.settings, &email, false, reason).await
        }
        Command::Schema(cmd) => schema::schema_command(cmd),
        Command::SeedDemo {
            enterprises,
            submissions_per_enterprise,
            complaints_per_enterprise,
            seed,
        } => {
            let settings_again = cli.settings.clone();
            let state = std::sync::Arc::new(AppState::init(cli.settings).await?);
            let created = crate::accounts::bootstrap_admin(&state)
                .await
                .map_err(|e| describe(&e))?;
            announce_admin(created);
            let started = std::time::Instant::now();
            crate::demo::seed(
                state,
                enterprises,
                submissions_per_enterprise,
                seed,
                |done, total| progress(done as usize, total as usize),
            )
            .await
            .map_err(|e| describe(&e))?;
            eprintln!(
                "\nseeded {enterprises} enterprises with {} self-assessments in {:.1} s",
                enterprises * submissions_per_enterprise,
                started.elapsed().as_secs_f64()
            );
            if complaints_per_enterprise > 0 {
                let started = std::time::Instant::now();
                let state = std::sync::Arc::new(AppState::init(settings_again).await?);
                let n = crate::demo::seed_complaints(
                    &state,
                    complaints_per_enterprise,
                    seed,
                    |done, total| progress(done as usize, total as usize),
                )
                .await
                .map_err(|e| describe(&e))?;
                eprintln!(
                    "\nseeded {n} complaints in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Report(ReportCommand::Render {
            submission,
            output,
            all,
            out,
            lang,
        }) => {
            let lang = crate::reports::Lang::parse(Some(&lang));
            let state = std::sync::Arc::new(AppState::init(cli.settings).await?);
            let ids: Vec<i64> = match submission {
                Some(id) => vec![id],
                None => state
                    .db
                    .read(crate::db::submissions::all_ids)
                    .await
                    .map_err(|e| describe(&e))?,
            };
            let dir = out.unwrap_or_else(|| std::path::PathBuf::from("."));
            if all {
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            let total = ids.len();
            for (i, id) in ids.into_iter().enumerate() {
                let (schemas, min_group) = (state.schemas.clone(), state.settings.stats_min_group);
                let data = state
                    .db
                    .read(move |conn| {
                        let s = crate::db::submissions::find(conn, id)?
                            .ok_or(crate::error::AppError::NotFound)?;
                        crate::reports::data::report_data(conn, &schemas, min_group, s)
                    })
                    .await
                    .map_err(|e| format!("submission {id}: {}", describe(&e)))?;
                let bytes = crate::reports::report::render(&data, lang);
                let path = match &output {
                    Some(p) => p.clone(),
                    None => dir.join(format!("csr-report-{id}.pdf")),
                };
                std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                if all {
                    progress(i + 1, total);
                } else {
                    eprintln!("wrote {}", path.display());
                }
            }
            if all {
                eprintln!("\nrendered {total} report(s) into {}", dir.display());
            }
            Ok(())
        }
        Command::Certificate(CertificateCommand::Verify { file, keys, online }) => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let signed = crate::certification::parse_signed(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let issuer = online
                .as_deref()
                .map(crate::issuer::Issuer::new)
                .transpose()?;
            let jwks: crate::auth::signing::Jwks = match (keys, &issuer) {
                (Some(path), _) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
                }
                (None, Some(issuer)) => issuer.keys()?,
                (None, None) => {
                    crate::auth::signing::ServiceKeys::new(&KeyFile::of(&cli.settings)?)?.jwks()
                }
            };
            let p = &signed.payload;
            signed
                .verify(&jwks)
                .map_err(|e| format!("{}: {e}", p.number))?;
            // The public certificate JSON also says its status when it was fetched.
            let status = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_owned));
            if let Some(status) = status.filter(|s| s != CertificateStatus::Active.as_str()) {
                return Err(format!(
                    "{}: the signature is valid but the certificate is {status}",
                    p.number
                ));
            }
            let today = chrono::Utc::now()
                .date_naive()
                .format("%Y-%m-%d")
                .to_string();
            if p.expires_on < today {
                return Err(format!(
                    "{}: the signature is valid but the certificate expired on {}",
                    p.number, p.expires_on
                ));
            }
            println!(
                "signature valid: {} — {} ({}), level {}, {} to {}",
                p.number,
                p.enterprise.name,
                p.enterprise.credit_code,
                p.level,
                p.issued_on,
                p.expires_on
            );
            match issuer {
                Some(issuer) => {
                    let status = issuer.status(&signed)?;
                    if status != CertificateStatus::Active.as_str() {
                        return Err(format!(
                            "{}: the signature is valid but the issuer at {} says the \
                             certificate is {status}",
                            p.number, issuer.base
                        ));
                    }
                    println!("status at {}: active", issuer.base);
                }
                None => println!(
                    "only the signature and the dates were checked: whether the certificate has \
                     since been suspended or revoked is shown at the issuer's /verify/{} page \
                     (or give --online with its address)",
                    p.number
                ),
            }
            Ok(())
        }
        Command::Audit(cmd) => {
            let state = AppState::init(cli.settings).await?;
            let jwks = state.signing.jwks();
            match cmd {
                AuditCommand::Verify {
                    against,
                    max_age_secs,
                } => {
                    let head: Option<crate::db::audit::Checkpoint> = match against {
                        Some(path) => {
                            let text = std::fs::read_to_string(&path)
                                .map_err(|e| format!("{}: {e}", path.display()))?;
                            Some(
                                serde_json::from_str(&text)
                                    .map_err(|e| format!("{}: {e}", path.display()))?,
                            )
                        }
                        None => None,
                    };
                    let max_age = match max_age_secs {
                        Some(0) => None,
                        Some(n) => Some(chrono::Duration::seconds(n as i64)),
                        None => Some(crate::audit::max_checkpoint_age(&state.settings)),
                    };
                    let report = state
                        .db
                        .read(move |conn| {
                            let expect = crate::db::audit::Expect {
                                max_age,
                                head: head.as_ref(),
                            };
                            crate::db::audit::verify(conn, &jwks, &expect)
                        })
                        .await
                        .map_err(|e| describe(&e))?;
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                    );
                    match report.first_broken {
                        None => Ok(()),
                        Some(b) => Err(format!(
                            "audit log broken at entry {}: {}",
                            b.seq, b.message
                        )),
                    }
                }
                AuditCommand::Checkpoint => {
                    let st = std::sync::Arc::new(state);
                    let s2 = st.clone();
                    let cp = st
                        .db
                        .write(move |conn| crate::db::audit::checkpoint(conn, &s2.signing, false))
                        .await
                        .map_err(|e| describe(&e))?;
                    match cp {
                        Some(c) => {
                            eprintln!("checkpoint of {} entries, head {}", c.entries, c.head_hash)
                        }
                        None => eprintln!("the last checkpoint already covers every entry"),
                    }
                    Ok(())
                }
            }
        }
        Command::Keys(KeysCommand::Rotate) => {
            let dir = cli.settings.keys_dir();
            let mut file = KeyFile::load_or_create(&dir)?;
            let kid = file.rotate().kid.clone();
            file.save(&dir)?;
            eprintln!("new active signing key {kid}; restart the service to use it");
            Ok(())
        }
        Command::Keys(KeysCommand::Retire { kid }) => {
            let dir = cli.settings.keys_dir();
            let mut file = KeyFile::load_or_create(&dir)?;
            file.retire(&kid)?;
            file.save(&dir)?;
            eprintln!("retired signing key {kid}; restart the service to refuse its tokens");
            Ok(())
        }
    }
}

fn describe(e: &crate::error::AppError) -> String {
    let p = e.to_problem();
    let fields: Vec<String> = p
        .errors
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        p.detail
    } else {
        fields.join("; ")
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let state = AppState::init(settings).await?;
    let created = accounts::bootstrap_admin(&state)
        .await
        .map_err(|e| describe(&e))?;
    announce_admin(created);
    let app = Application::build(state)?;
    crate::audit::spawn_checkpoints(app.state.clone())
        .await
        .map_err(|e| describe(&e))?;
    let host = app
        .state
        .settings
        .bind
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h)
        .to_owned();
    let base = format!("http://{host}:{}", app.port);
    tracing::info!(
        backend = ?app.state.db.backend(),
        "listening on {base}; API docs at {base}/docs/, OpenAPI at {base}/openapi.json"
    );
    app.server.await.map_err(|e| e.to_string())
}

/// `user disable` and `user enable`: the same rules and audit entry as the API, acted by the
/// operator (no user).
async fn set_disabled(
    settings: Settings,
    email: &str,
    disabled: bool,
    reason: String,
) -> Result<(), String> {
    let email = crate::domain::Email::parse(email).map_err(|e| format!("--email {e}"))?;
    let state = AppState::init(settings).await?;
    let address = email.as_str().to_owned();
    let user = state
        .db
        .read(move |conn| crate::db::users::find_by_email(conn, &address))
        .await
        .map_err(|e| describe(&e))?
        .ok_or_else(|| format!("no user with the e-mail {}", email.as_str()))?;
    let view = accounts::set_disabled(&state, user.id, disabled, reason, Actor::default())
        .await
        .map_err(|e| describe(&e))?;
    let what = if view.disabled { "disabled" } else { "enabled" };
    eprintln!("{what} {} (id {})", view.email, view.id);
    Ok(())
}

/// A one-line progress bar on standard error.
fn progress(done: usize, total: usize) {
    use std::io::Write;
    let width = 30;
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    eprint!(
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    let _ = std::io::stderr().flush();
}

/// Tells the operator about an administrator created on first start, showing a generated
/// password once.
fn announce_admin(created: Option<(String, Option<String>)>) {
    match created {
        Some((email, Some(password))) => {
            eprintln!(
                "\n  Created the first administrator: {email}\n  Password (shown once): {password}\n  \
                 Change it now with POST /api/v1/auth/password, or set CSR_ADMIN_PASSWORD before the first start.\n"
            );
        }
        Some((email, None)) => tracing::info!(%email, "created the first administrator"),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command, KeysCommand};

    /// Key ids are random base64url: one that begins with `-` is still a value of `--kid`.
    #[test]
    fn a_key_id_may_begin_with_a_hyphen() {
        let cli = Cli::try_parse_from(["csr-assess", "keys", "retire", "--kid", "-Zq3x"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Keys(KeysCommand::Retire { kid })) if kid == "-Zq3x"
        ));
    }
}
