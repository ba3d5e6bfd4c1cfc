//! Migration parity: the SQLite and PostgreSQL migration trees, the databases they build and
//! the diesel table definitions in `src/db/schema.rs` all name the same tables and columns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use csr_assess::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::MigrationHarness;

use crate::helpers::{fresh_postgres, postgres_url};

/// Table name → its column names.
type Tables = BTreeMap<String, BTreeSet<String>>;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[test]
fn migrations_agree_on_both_backends() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sqlite_dirs = migration_dirs(&root.join("migrations/sqlite"));
    let postgres_dirs = migration_dirs(&root.join("migrations/postgres"));
    assert_no_differences(set_differences(
        "migration ",
        ("migrations/sqlite", &sqlite_dirs),
        ("migrations/postgres", &postgres_dirs),
    ));

    let schema_rs = std::fs::read_to_string(root.join("src/db/schema.rs")).unwrap();
    let sqlite = sqlite_tables();
    assert_no_differences(table_differences(
        ("src/db/schema.rs", &declared_tables(&schema_rs)),
        ("the SQLite migrations", &sqlite),
    ));

    if postgres_url().is_none() {
        eprintln!("CSR_TEST_POSTGRES_URL not set: PostgreSQL part not run");
        return;
    }
    assert_no_differences(table_differences(
        ("the SQLite migrations", &sqlite),
        ("the PostgreSQL migrations", &postgres_tables()),
    ));
}

/// The migration directories under `dir`, each checked to hold `up.sql` and `down.sql`.
fn migration_dirs(dir: &Path) -> BTreeSet<String> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names = BTreeSet::new();
    for path in entries.map(|e| e.unwrap().path()).filter(|p| p.is_dir()) {
        for file in ["up.sql", "down.sql"] {
            assert!(
                path.join(file).is_file(),
                "{} has no {file}",
                path.display()
            );
        }
        names.insert(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    names
}

/// The tables of `diesel::table!` blocks: the name before `(`, then each name before `->`.
fn declared_tables(source: &str) -> Tables {
    let mut tables = Tables::new();
    let (mut in_block, mut table) = (false, None::<String>);
    for line in source.lines().map(str::trim) {
        if line.starts_with("diesel::table!") {
            in_block = true;
            continue;
        }
        if !in_block || line.is_empty() || line.starts_with(['/', '#']) {
            continue;
        }
        match &table {
            None => {
                let name = line.split('(').next().unwrap().trim().to_owned();
                tables.insert(name.clone(), BTreeSet::new());
                table = Some(name);
            }
            Some(name) => {
                if let Some((column, _)) = line.split_once("->") {
                    let column = column.trim().trim_start_matches("r#").to_owned();
                    tables.get_mut(name).unwrap().insert(column);
                } else if line.starts_with('}') {
                    (in_block, table) = (false, None);
                }
            }
        }
    }
    assert!(!tables.is_empty(), "no diesel::table! found in schema.rs");
    tables
}

fn sqlite_tables() -> Tables {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parity.db").display().to_string();
    let mut conn = SqliteConnection::establish(&path).unwrap();
    conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
    let columns = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name \
         FROM sqlite_master AS m, pragma_table_info(m.name) AS p \
         WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
           AND m.name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .unwrap();
    by_table(columns)
}

fn postgres_tables() -> Tables {
    let db = fresh_postgres();
    let mut conn = PgConnection::establish(&db.url).unwrap();
    conn.run_pending_migrations(POSTGRES_MIGRATIONS).unwrap();
    let columns = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .unwrap();
    by_table(columns)
}

fn by_table(columns: Vec<Column>) -> Tables {
    let mut tables = Tables::new();
    for c in columns {
        tables
            .entry(c.table_name)
            .or_default()
            .insert(c.column_name);
    }
    tables
}

/// One line per item of one set missing from the other, e.g. `migration X only in Y`.
fn set_differences(
    label: &str,
    (a_name, a): (&str, &BTreeSet<String>),
    (b_name, b): (&str, &BTreeSet<String>),
) -> Vec<String> {
    let only = |x: &String, side: &str| format!("{label}{x} only in {side}");
    a.difference(b)
        .map(|x| only(x, a_name))
        .chain(b.difference(a).map(|x| only(x, b_name)))
        .collect()
}

/// Tables present on one side only, then columns present on one side only.
fn table_differences((a_name, a): (&str, &Tables), (b_name, b): (&str, &Tables)) -> Vec<String> {
    let names = |t: &Tables| t.keys().cloned().collect::<BTreeSet<_>>();
    let mut differences = set_differences("table ", (a_name, &names(a)), (b_name, &names(b)));
    for (table, a_columns) in a {
        if let Some(b_columns) = b.get(table) {
            let label = format!("column {table}.");
            differences.extend(set_differences(
                &label,
                (a_name, a_columns),
                (b_name, b_columns),
            ));
        }
    }
    differences
}

#[track_caller]
fn assert_no_differences(differences: Vec<String>) {
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Kept {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    operation: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    etag: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    location: Option<String>,
}

/// Runs the migrations up to (not including) `stop`, inserts a submission created under an
/// `Idempotency-Key` in the old per-enterprise store, runs the rest, and reads the key back
/// from the one store every creating request uses.
macro_rules! old_keys_move {
    ($conn:expr, $migrations:expr) => {{
    let conn = $conn;
    let stop = "2026-12-06-000017";
    let pending = conn.pending_migrations($migrations).unwrap();
    for m in &pending {
        if m.name().to_string().starts_with(stop) {
            break;
        }
        conn.run_migration(m.as_ref()).unwrap();
    }
    for sql in [
        "INSERT INTO enterprises (id, credit_code, name, industry_code, region_code, size, \
         contact_email, created_at) VALUES (7, '91350100M000100Y43', 'x', 'C1491', '330106', \
         'small', 'c@example.com', '2026-12-01 08:00:00')",
        "INSERT INTO users (id, email, password_hash, role, enterprise_id, disabled, created_at, \
         password_changed_at) VALUES (70, 'a@example.com', 'h', 'enterprise_admin', 7, false, \
         '2026-12-01 08:00:00', '2026-12-01 08:00:00')",
        "INSERT INTO submissions (id, enterprise_id, schema_id, version, schema_hash, \
         industry_code, status, revision, created_by, created_at, updated_at) VALUES (700, 7, \
         'cca-good-enterprise', '2024', 'h', 'C1491', 'draft', 3, 70, '2026-12-01 08:00:00', \
         '2026-12-01 08:00:00')",
        "INSERT INTO idempotency_keys (enterprise_id, key, request_hash, submission_id, \
         response, created_at) VALUES (7, 'k-1', 'digest', 700, '{\"id\":700}', \
         '2026-12-01 08:00:00')",
    ] {
        diesel::sql_query(sql).execute(conn).unwrap();
    }
    for m in conn.pending_migrations($migrations).unwrap() {
        conn.run_migration(m.as_ref()).unwrap();
    }
    let kept: Vec<Kept> = diesel::sql_query(
        "SELECT user_id, operation, key, body, etag, location FROM idempotent_requests",
    )
    .load(conn)
    .unwrap();
    assert_eq!(
        kept,
        vec![Kept {
            user_id: 70,
            operation: "createSubmission".into(),
            key: "k-1".into(),
            body: "{\"id\":700}".into(),
            etag: Some("\"700-1\"".into()),
            location: Some("/api/v1/submissions/700".into()),
        }]
    );
    }};
}

#[test]
fn old_submission_keys_move_to_the_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db").display().to_string();
    let mut conn = SqliteConnection::establish(&path).unwrap();
    old_keys_move!(&mut conn, SQLITE_MIGRATIONS);
    if postgres_url().is_some() {
        let db = fresh_postgres();
        let mut conn = PgConnection::establish(&db.url).unwrap();
        old_keys_move!(&mut conn, POSTGRES_MIGRATIONS);
    }
}
