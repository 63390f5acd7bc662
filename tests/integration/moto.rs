//! moto's ECR emulator (`moto_server` from PyPI, installed by scripts/install-tools.sh) on a
//! random loopback port, killed when the test ends.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// `None` when moto is not installed and this is not CI (under CI=true that is a failure).
    pub fn start() -> Option<Moto> {
        let server = crate::util::tool("moto_server")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let url = format!("http://127.0.0.1:{port}");
        let moto = Moto { child, url };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// Runs Python (moto's own venv: boto3 and requests are there) against this server, with
    /// `ecr` a boto3 client and `MOTO` the base URL, and returns what it prints.
    pub fn python(&self, script: &str) -> String {
        let python = crate::util::tool("python").expect("moto's python");
        let prelude = format!(
            "import boto3, json, requests\nMOTO = '{url}'\necr = boto3.client('ecr', endpoint_url=MOTO, region_name='us-east-1', \
             aws_access_key_id='test', aws_secret_access_key='test')\n",
            url = self.url
        );
        let output = Command::new(python)
            .arg("-c")
            .arg(format!("{prelude}{script}"))
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "moto setup failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}
