//! The webhook's certificate, re-read when its files change. cert-manager renews the Secret
//! and the kubelet swaps the mounted files; each new TLS handshake gets the certificate in
//! force then, and connections already open keep theirs, so nothing restarts or drops.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// How often the files are looked at: a renewed certificate is served within this long.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// The certificate and key in force, and where they come from.
#[derive(Debug)]
pub struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The file contents last loaded: a change of either is a reload.
    loaded: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl Certificates {
    /// Reads both files; `Err` names the file and what is wrong (exit 2 at start).
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Self>, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (cert_pem, key_pem) = read_both(cert, key)?;
        let certified = certified(cert, key, &cert_pem, &key_pem, &provider)?;
        Ok(Arc::new(Certificates {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(certified)),
            loaded: Mutex::new((cert_pem, key_pem)),
        }))
    }

    /// Loads the files again if either changed: `Ok(true)` when a new certificate is in force.
    /// A pair that does not load (half written, key of another certificate) leaves the one in
    /// force and is tried again next time.
    pub fn reload(&self) -> Result<bool, String> {
        let (cert_pem, key_pem) = read_both(&self.cert, &self.key)?;
        let mut loaded = self.loaded.lock().expect("certificate state");
        if loaded.0 == cert_pem && loaded.1 == key_pem {
            return Ok(false);
        }
        let certified = certified(&self.cert, &self.key, &cert_pem, &key_pem, &self.provider)?;
        *self.current.write().expect("certificate") = Arc::new(certified);
        *loaded = (cert_pem, key_pem);
        Ok(true)
    }

    /// A server configuration that asks `self` for the certificate at every handshake, and
    /// speaks HTTP/2 or HTTP/1.1 (the API server uses either).
    pub fn server_config(self: &Arc<Self>) -> Result<ServerConfig, String> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }

    /// Looks at the files every [`RELOAD_EVERY`] for as long as the server runs.
    pub async fn watch(self: Arc<Self>) {
        let mut tick = tokio::time::interval(RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.reload() {
                Ok(true) => {
                    tracing::info!(cert = %self.cert.display(), "serving the renewed certificate")
                }
                Ok(false) => {}
                Err(e) => tracing::warn!("keeping the certificate in force: {e}"),
            }
        }
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().expect("certificate").clone())
    }
}

fn read_both(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), String> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
    };
    Ok((read(cert)?, read(key)?))
}

fn certified(
    cert: &Path,
    key: &Path,
    cert_pem: &[u8],
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: holds no PEM certificate", cert.display()));
    }
    let private = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| format!("{}: not a PEM private key: {e}", key.display()))?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| {
        format!(
            "{} and {}: the key does not go with the certificate: {e}",
            key.display(),
            cert.display()
        )
    })
}
