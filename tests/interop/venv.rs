//! Running the official futu-api Python package (in `<repo>/.venv`) from Rust tests.
//!
//! Shared by tests/crypto_vectors.rs and tests/interop_official.rs via `#[path]`.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

pub fn helper(name: &str) -> PathBuf {
    repo_root().join("tests/interop").join(name)
}

/// A fresh, empty directory under the system temp dir (removed on drop).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "ftapi-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn can_import_futu() -> bool {
    let home = TempDir::new("probe");
    Command::new(python())
        .args(["-c", "import futu"])
        .env("HOME", home.path())
        .current_dir(home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Makes sure `.venv` can `import futu`, running scripts/ensure-venv.sh once if not
/// (a minute on a fresh machine). Panics with the script's exit status on failure.
pub fn ensure_venv() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if can_import_futu() {
            return;
        }
        let script = repo_root().join("scripts/ensure-venv.sh");
        let status = Command::new("bash")
            .arg(&script)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            status.success(),
            "{} failed ({status}); the official futu-api package is needed for this test",
            script.display()
        );
        assert!(can_import_futu(), ".venv still cannot import futu");
    });
}

pub struct PyOutput {
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl PyOutput {
    /// The JSON after the helper's "@@RESULT@@ " line.
    pub fn result(&self) -> serde_json::Value {
        let line = self
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("@@RESULT@@ "))
            .unwrap_or_else(|| {
                panic!(
                    "no @@RESULT@@ line (success={}, timed_out={}, {:?})\n--- stdout\n{}\n--- stderr\n{}",
                    self.success, self.timed_out, self.elapsed, self.stdout, self.stderr
                )
            });
        serde_json::from_str(line).expect("result line is JSON")
    }
}

/// Runs `.venv/bin/python <script> <args>` with `stdin` fed in, HOME pointed at a scratch
/// dir (futu writes its logs under $HOME), and a hard timeout after which the process is
/// killed (the official client retries a failed InitConnect forever).
pub fn run_python(script: &Path, args: &[&str], stdin: &[u8], timeout: Duration) -> PyOutput {
    ensure_venv();
    let home = TempDir::new("pyhome");
    let start = Instant::now();
    let mut child = Command::new(python())
        .arg(script)
        .args(args)
        .env("HOME", home.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn .venv/bin/python");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait python") {
            break st;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait killed python");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let _ = writer.join();
    PyOutput {
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
        success: status.success() && !timed_out,
        timed_out,
        elapsed,
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}
