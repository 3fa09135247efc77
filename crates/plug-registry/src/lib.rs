//! `plug-registry`: plugins shared through S3, for a fleet that loads them
//! from one place.
//!
//! A registry is a bucket and a prefix (`s3://BUCKET/PREFIX`). Publishing
//! packs the plugin folder into a reproducible `tar.gz`, stores it under its
//! own sha256 (`archives/NAME/VERSION/SHA256.tar.gz`, so an archive never
//! changes once written), and records the version in `index.json`. The
//! index is updated read-modify-write with S3's conditional writes (`If-Match`
//! on the ETag read, `If-None-Match: *` for the first one), retried on a
//! conflict, so two publishers never lose each other's update. A version is
//! published once: the same version with other content is refused.
//!
//! Fetching looks the version up in the index and checks the archive's
//! sha256 against it before anything is unpacked ([`plug_store`] unpacks,
//! entry by entry). Start at [`Registry`].

mod archive;
mod index;
mod s3;

pub use archive::pack;
pub use index::{Index, Release};
pub use s3::{Fetched, Published, Registry, RegistryUrl};

/// Why the registry could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Not an `s3://BUCKET/PREFIX` address.
    #[error("`{0}` is not a registry address (s3://BUCKET/PREFIX)")]
    BadUrl(String),
    /// The plugin folder cannot be published.
    #[error("{0}")]
    Plugin(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// S3 answered with an error, or could not be reached.
    #[error("S3: {0}")]
    S3(#[from] plug_core::ports::AwsError),
    /// The index object is not one.
    #[error("registry index s3://{bucket}/{key}: {detail}")]
    BadIndex {
        /// The bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// The version is already published with other content.
    #[error(
        "{name} {version} is already published with sha256 {existing}; versions are immutable, publish a new one"
    )]
    Exists {
        /// The plugin.
        name: String,
        /// The version.
        version: String,
        /// The digest on record.
        existing: String,
    },
    /// Nothing by that name (or version) in the index.
    #[error("{0}")]
    NotFound(String),
    /// An archive whose bytes do not have the digest the index records.
    #[error(
        "the registry archive of {name} {version} does not match its digest (sha256 {actual}, recorded {recorded}); refusing it"
    )]
    Digest {
        /// The plugin.
        name: String,
        /// The version.
        version: String,
        /// The digest the index records.
        recorded: String,
        /// The digest of the bytes fetched.
        actual: String,
    },
    /// Other publishers kept changing the index.
    #[error("the registry index kept changing under {0} attempts; try again")]
    Contended(u32),
}

/// The store's way to S3 registries: each fetch connects as the operator
/// (`operator`), on a thread and runtime of its own so that it works from
/// any caller, async or not.
pub struct S3Archives {
    /// The operator's AWS configuration.
    pub operator: plug_aws::IdentityConfig,
}

impl plug_store::ArchiveSource for S3Archives {
    fn fetch(
        &self,
        registry: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<plug_store::FetchedArchive, plug_store::StoreError> {
        let failed = |e: RegistryError| plug_store::StoreError::Registry(e.to_string());
        let url = RegistryUrl::parse(registry).map_err(failed)?;
        let operator = self.operator.clone();
        let fetched = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| {
                            RegistryError::Plugin(format!("cannot start the async runtime: {e}"))
                        })?;
                    runtime.block_on(async {
                        Registry::connect(url, operator)
                            .await?
                            .fetch(name, version)
                            .await
                    })
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(RegistryError::Plugin("the registry fetch panicked".into()))
                })
        })
        .map_err(failed)?;
        Ok(plug_store::FetchedArchive {
            version: fetched.version,
            sha256: fetched.sha256,
            bytes: fetched.bytes,
        })
    }
}
