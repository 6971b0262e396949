//! Where a Rift installation keeps its data, resolved one way for every binary (`rift-server`,
//! the `rift` admin command): the data directory, the database URL and the upload directory.

use std::path::{Path, PathBuf};

/// The data directory when none is given (`RIFT_DATA_DIR`).
pub const DEFAULT_DATA_DIR: &str = "./rift-data";

/// A resolved installation: which database and which upload directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLocation {
    /// Where Rift keeps its files by default (the SQLite database, the JWT secret, uploads).
    pub data_dir: PathBuf,
    /// The database to open: `DATABASE_URL` when set and not blank, else `sqlite://` +
    /// `data_dir/rift.db`.
    pub database_url: String,
    /// `UPLOAD_DIR` when set, else `data_dir/uploads`.
    pub upload_dir: PathBuf,
}

impl DataLocation {
    /// Resolves the settings: an empty `DATABASE_URL` (as env files often leave it) means the
    /// default SQLite file, not a database named "".
    pub fn resolve(data_dir: &Path, database_url: Option<&str>, upload_dir: Option<&Path>) -> Self {
        let database_url = database_url
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map_or_else(|| format!("sqlite://{}", data_dir.join("rift.db").display()), str::to_owned);
        let upload_dir = upload_dir.map_or_else(|| data_dir.join("uploads"), Path::to_path_buf);
        Self { data_dir: data_dir.to_path_buf(), database_url, upload_dir }
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_database_url_means_the_sqlite_file_in_the_data_dir() {
        for url in [None, Some(""), Some("  ")] {
            let location = DataLocation::resolve(Path::new("/srv/rift"), url, None);
            assert_eq!(location.database_url, "sqlite:///srv/rift/rift.db");
            assert_eq!(location.upload_dir, Path::new("/srv/rift/uploads"));
            assert!(!location.is_postgres());
        }
    }

    #[test]
    fn given_settings_win() {
        let location =
            DataLocation::resolve(Path::new("d"), Some("postgres://h/db"), Some(Path::new("/var/up")));
        assert_eq!(location.database_url, "postgres://h/db");
        assert_eq!(location.upload_dir, Path::new("/var/up"));
        assert!(location.is_postgres());
    }
}
