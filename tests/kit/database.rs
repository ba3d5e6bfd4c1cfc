//! A fresh database for one test or one benchmark phase: a new SQLite file, or a new
//! PostgreSQL database that is dropped (connections and all) with this value.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

use csr_assess::db::AnyConnection;

pub struct FreshDatabase {
    /// What `DATABASE_URL` takes: a file path, or a `postgres://` URL.
    pub url: String,
    postgres: Option<Dropper>,
}

/// Drops a PostgreSQL database through its server's maintenance connection.
struct Dropper {
    server_url: String,
    name: String,
}

impl FreshDatabase {
    /// A SQLite database at `path` (created by the service on first use).
    pub fn sqlite(path: &Path) -> Self {
        Self {
            url: path.display().to_string(),
            postgres: None,
        }
    }

    /// A new, empty database on the PostgreSQL server at `server_url`, named `<prefix>_<uuid>`.
    pub fn postgres(server_url: &str, prefix: &str) -> Result<Self, String> {
        let mut conn = PgConnection::establish(server_url)
            .map_err(|e| format!("PostgreSQL at {server_url} is unreachable: {e}"))?;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| format!("create database {name}: {e}"))?;
        let mut url = url::Url::parse(server_url).map_err(|e| format!("{server_url}: {e}"))?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            url: url.to_string(),
            postgres: Some(Dropper {
                server_url: server_url.to_owned(),
                name,
            }),
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The PostgreSQL database's name.
    pub fn name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|p| p.name.as_str())
    }

    /// A direct connection, for looking at what the service stored.
    pub fn connect(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        Ok(if self.is_postgres() {
            AnyConnection::Postgresql(PgConnection::establish(&self.url)?)
        } else {
            AnyConnection::Sqlite(SqliteConnection::establish(&self.url)?)
        })
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Some(p) = &self.postgres
            && let Ok(mut conn) = PgConnection::establish(&p.server_url)
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", p.name));
        }
    }
}
