//! The `opend-sim` binary: arguments, standalone mode and runner mode.

mod common;

use common::{Client, names};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opend-sim");

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("opend-sim-test-{}-{name}", std::process::id()))
}

#[test]
fn runner_substitutes_the_port_and_passes_the_exit_code() {
    let out = Command::new(BIN)
        .args(["--port", "0", "--", "sh", "-c"])
        .arg(r#"test "$1" = "$OPEND_SIM_PORT" && test "$OPEND_SIM_HOST" = 127.0.0.1 && echo "port=$1" && exit 7; exit 1"#)
        .args(["sh", "{port}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // Only the command's output on stdout; the listening line went to stderr.
    let port: u16 = stdout
        .trim()
        .strip_prefix("port=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(port > 0);
    assert!(
        stderr.contains(&format!("opend-sim listening on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn runner_command_reaches_the_simulator() {
    let status = Command::new(BIN)
        .args(["--port", "0", "--", "bash", "-c"])
        .arg("exec 3<>/dev/tcp/127.0.0.1/$1 && exit 42")
        .args(["bash", "{port}"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(42));
}

#[test]
fn runner_reports_death_by_signal_as_128_plus_n() {
    let status = Command::new(BIN)
        .args(["--port", "0", "--", "sh", "-c", "kill -KILL $$"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(128 + 9));
}

#[test]
fn bad_arguments_exit_2_and_help_exits_0() {
    for args in [
        &["--bogus"][..],
        &["--port"],
        &["--port", "x"],
        &["--lang", "fr"],
        &["--rate-limit", "10"],
        &["--aes", "gcm"],
        &["--groups", "/nonexistent/groups.json"],
        &["--"],
        &["--ws-key", "k"],
        &["--ws-port", "0", "--ws-tls-cert", "/nonexistent.pem"],
        &[
            "--ws-port",
            "0",
            "--ws-tls-cert",
            "/nonexistent.pem",
            "--ws-tls-key",
            "/nonexistent.pem",
        ],
        &["--ws-error", "3222"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("opend-sim: "), "{args:?}: {err}");
    }
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("--rate-limit") && text.contains("-- COMMAND"));
    assert!(
        text.contains("--ws-port") && text.contains("--ws-key") && text.contains("--ws-tls-cert")
    );
}

#[test]
fn runner_gives_the_websocket_port_and_writes_its_port_file() {
    let ws_file = tmp("ws-port");
    let out = Command::new(BIN)
        .args(["--port", "0", "--ws-port", "0", "--ws-port-file"])
        .arg(&ws_file)
        .args(["--", "sh", "-c"])
        .arg(r#"test "$1" = "$OPEND_SIM_WS_PORT" && test "$1" != "$2" && echo "ws=$1""#)
        .args(["sh", "{ws_port}", "{port}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let port: u16 = stdout.trim().strip_prefix("ws=").unwrap().parse().unwrap();
    let written = std::fs::read_to_string(&ws_file).unwrap();
    assert_eq!(written.trim().parse::<u16>().unwrap(), port);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("WebSocket door on ws://127.0.0.1:{port}")),
        "{stderr}"
    );
    let _ = std::fs::remove_file(ws_file);
}

#[test]
fn standalone_with_groups_file_port_file_and_sigterm() {
    let groups = tmp("groups.json");
    let port_file = tmp("port");
    std::fs::write(
        &groups,
        r#"[{"groupName": "Mine", "groupType": 1}, {"groupName": "全部", "groupType": 2}]"#,
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--rate-limit", "2/30", "--groups"])
        .arg(&groups)
        .arg("--port-file")
        .arg(&port_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("opend-sim listening on ")
        .unwrap()
        .parse()
        .unwrap();
    let written: u16 = std::fs::read_to_string(&port_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(written, addr.port());

    let mut c = Client::connect(addr);
    assert_eq!(c.init().0.ret_type, 0);
    assert_eq!(
        names(&c.groups(3)),
        vec![("Mine".to_string(), 1), ("全部".to_string(), 2)]
    );
    assert_eq!(names(&c.groups(2)), vec![("全部".to_string(), 2)]);
    assert_eq!(c.groups(3).ret_type, -1, "--rate-limit 2/30");

    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let t = Instant::now();
    let status = child.wait().unwrap();
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(status.code(), Some(0));
    c.assert_closed();
    let _ = std::fs::remove_file(groups);
    let _ = std::fs::remove_file(port_file);
}

#[test]
fn fault_flags_reach_the_simulator() {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--reject-init", "go away", "--lang", "zh"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line.trim().rsplit(' ').next().unwrap().parse().unwrap();
    let rsp = Client::connect(addr).init().0;
    assert_eq!(
        (rsp.ret_type, rsp.ret_msg.as_deref(), rsp.err_code),
        (-1, Some("go away"), Some(0))
    );
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn omit_ret_fields_flag_reaches_the_simulator() {
    for (flags, want) in [
        (&["--port", "0"][..], (Some(""), Some(0))),
        (&["--port", "0", "--omit-ret-fields"][..], (None, None)),
    ] {
        let mut child = Command::new(BIN)
            .args(flags)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line.trim().rsplit(' ').next().unwrap().parse().unwrap();
        let mut c = Client::connect(addr);
        let init = c.init().0;
        assert_eq!((init.ret_msg.as_deref(), init.err_code), want, "{flags:?}");
        let rsp = c.groups(3);
        assert_eq!((rsp.ret_msg.as_deref(), rsp.err_code), want, "{flags:?}");
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        assert_eq!(child.wait().unwrap().code(), Some(0));
    }
}
