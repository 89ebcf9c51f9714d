//! `opend-sim`: run the simulated OpenD, either until SIGINT/SIGTERM or around one
//! command (runner mode, `-- COMMAND ARGS...`).

use opend_sim::{AesMode, Config, GroupEntry, Lang, RateLimit, Sim, WsTls};
use std::io::Write;
use std::process::{Command, ExitCode};
use std::time::Duration;

const USAGE: &str = "\
opend-sim: a simulated Futu / moomoo OpenD

usage: opend-sim [OPTIONS] [-- COMMAND ARGS...]

With `-- COMMAND ARGS...` (runner mode) the simulator runs COMMAND, replacing `{port}` in
its arguments by the TCP port (and `{ws_port}` by the WebSocket port) and setting
OPEND_SIM_PORT / OPEND_SIM_WS_PORT / OPEND_SIM_HOST, then stops and exits with COMMAND's
exit code (128+N if killed by signal N). The listening lines then go to stderr. Otherwise
it runs until SIGINT or SIGTERM.

options:
  --host HOST                  address to listen on (default 127.0.0.1)
  --port PORT                  port; 0 picks a free one (default 11111)
  --port-file FILE             write the port number to FILE once listening
  --ws-port PORT               also serve OpenD's WebSocket door (what the official
                               JavaScript SDK speaks) on PORT; 0 picks a free one
  --ws-port-file FILE          write the WebSocket port to FILE once listening
  --ws-key KEY                 WebSocket logins must carry KEY's MD5 (default: any key);
                               a wrong key is refused with error -1 and no session
  --ws-tls-cert FILE.pem       serve the WebSocket door as wss:// with this certificate
  --ws-tls-key FILE.pem        ... and this private key (both or neither)
  --groups FILE.json           watchlist: [{\"groupName\": \"...\", \"groupType\": 1|2}, ...]
  --lang en|zh                 language of the default groups and messages (default en)
  --keep-alive-interval SECS   keepAliveInterval sent in InitConnect's reply (default 10)
  --rate-limit N/SECS | off    3222 limit, sliding window (default 10/30)
  --rate-limit-per-connection  count the limit per connection instead of per server
  --max-connections N          connection cap (default 128); the next is accepted, then closed
  --max-body-len BYTES         largest request body accepted (default 67108864)
  --idle-timeout SECS          close connections silent for SECS (default: never)
  --server-ver N               serverVer in InitConnect's reply (default 903)
  --rsa-key FILE.pem           RSA private key (1024-bit, PKCS#1 or PKCS#8) to allow encryption
  --require-encryption         refuse InitConnect from clients that do not encrypt
  --aes ecb|follow             AES for encrypting clients: follow their packetEncAlgo (default)
                               or always FTAES-ECB

fault injection, on both doors (P = proto ID, e.g. 1001 InitConnect, 1004 KeepAlive, 3222;
on the WebSocket door 1001 names the login and 1004 the WebSocket pings, and
--corrupt-sha1 flips the body's last byte, as that door's frame has no SHA-1):
  --withhold P[,P..]           never answer these protos
  --close-after P              close the connection instead of answering P
  --delay-ms N                 delay replies by N ms
  --delay-protos P[,P..]       which protos to delay (default: all but 1001 and 1004)
  --corrupt-sha1 P             flip a bit in the SHA-1 of replies to P
  --corrupt-body P             flip the last byte of the (encrypted) body of replies to P
  --reject-init MSG            answer InitConnect with retType -1 and MSG
  --byte-at-a-time             write replies one byte per write(), 1 ms apart
  --close-mid-header P         write part of P's reply header, then close
  --close-mid-body P           write P's reply header and half its body, then close
  --bad-magic P                reply to P with magic \"XT\"
  --huge-body-len P            reply to P with nBodyLen 0xFFFFFFFF
  --reset P                    on P, close with a TCP RST
  --garbage-after P            append 64 random bytes after P's reply (on the WebSocket
                               door they start as a frame with a reserved opcode)
  --wrong-proto P              reply to P with proto ID P+1
  --duplicate P                send P's reply twice
  --stop-reading               after InitConnect, never read from the socket again
  --opend-lost P               on P, OpenD's link is lost: the WebSocket door pushes cmd 2
                               (and stays open); the TCP door closes
  --ws-error P:N               answer P with the WebSocket header's error N (1, 2, 3) and no
                               body; the TCP door withholds (1, 2) or closes (3)
  --after N                    proto-keyed faults start after N normal replies of that proto
                               per connection
  --omit-ret-fields            leave retMsg and errCode out of every reply and push (OpenD
                               sends retMsg \"\" and errCode 0 on success); refusals keep
                               their retMsg

test hooks:
  --notify-on P[,P..]          after answering P, push a Notify (1003, ConnStatus) to that
                               connection (TCP: if its InitConnect set recvNotify)
  -h, --help                   this text
";

struct Args {
    config: Config,
    port_file: Option<String>,
    ws_port_file: Option<String>,
    command: Vec<String>,
}

fn parse_args(argv: Vec<String>) -> Result<Option<Args>, String> {
    let mut config = Config {
        port: 11111,
        // Nobody can read the record from the binary; keep memory flat in long runs.
        record_received: false,
        ..Config::default()
    };
    let mut port_file = None;
    let mut ws_port_file = None;
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut groups_file = None;
    let mut lang_set = false;
    let mut command = Vec::new();
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            command = it.by_ref().collect();
            if command.is_empty() {
                return Err("`--` must be followed by a command".into());
            }
            break;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let f = &mut config.faults;
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--host" => config.host = value()?,
            "--port" => config.port = num(&flag, &value()?)?,
            "--port-file" => port_file = Some(value()?),
            "--ws-port" => config.ws_port = Some(num(&flag, &value()?)?),
            "--ws-port-file" => ws_port_file = Some(value()?),
            "--ws-key" => config.ws_key = Some(value()?),
            "--ws-tls-cert" => tls_cert = Some(value()?),
            "--ws-tls-key" => tls_key = Some(value()?),
            "--groups" => groups_file = Some(value()?),
            "--lang" => {
                config.lang = match value()?.as_str() {
                    "en" => Lang::En,
                    "zh" => Lang::Zh,
                    other => return Err(format!("--lang: expected en or zh, got {other:?}")),
                };
                lang_set = true;
            }
            "--keep-alive-interval" => config.keep_alive_interval = num(&flag, &value()?)?,
            "--rate-limit" => config.rate_limit = parse_rate_limit(&value()?)?,
            "--rate-limit-per-connection" => {
                let rl = config.rate_limit.get_or_insert_with(RateLimit::default);
                rl.per_connection = true;
            }
            "--max-connections" => config.max_connections = num(&flag, &value()?)?,
            "--max-body-len" => config.max_body_len = num(&flag, &value()?)?,
            "--idle-timeout" => {
                let v = value()?;
                let secs: f64 = num(&flag, &v)?;
                if !(secs.is_finite() && secs > 0.0) {
                    return Err(format!(
                        "--idle-timeout: {v:?} must be a positive number of seconds"
                    ));
                }
                config.idle_timeout = Some(Duration::from_secs_f64(secs));
            }
            "--server-ver" => config.server_ver = num(&flag, &value()?)?,
            "--rsa-key" => {
                let path = value()?;
                let pem = std::fs::read_to_string(&path)
                    .map_err(|e| format!("--rsa-key: cannot read {path}: {e}"))?;
                config.rsa_key = Some(
                    opend_proto::crypto::RsaKey::from_pem(&pem)
                        .map_err(|e| format!("--rsa-key {path}: {e}"))?,
                );
            }
            "--require-encryption" => config.require_encryption = true,
            "--aes" => {
                config.aes_mode = match value()?.as_str() {
                    "ecb" => AesMode::ForceFtAesEcb,
                    "follow" => AesMode::FollowClient,
                    other => return Err(format!("--aes: expected ecb or follow, got {other:?}")),
                }
            }
            "--withhold" => f.withhold = list(&flag, &value()?)?,
            "--close-after" => f.close_after = Some(num(&flag, &value()?)?),
            "--delay-ms" => f.delay = Some(Duration::from_millis(num(&flag, &value()?)?)),
            "--delay-protos" => f.delay_protos = list(&flag, &value()?)?,
            "--corrupt-sha1" => f.corrupt_sha1 = Some(num(&flag, &value()?)?),
            "--corrupt-body" => f.corrupt_body = Some(num(&flag, &value()?)?),
            "--reject-init" => f.reject_init = Some(value()?),
            "--byte-at-a-time" => f.byte_at_a_time = true,
            "--close-mid-header" => f.close_mid_header = Some(num(&flag, &value()?)?),
            "--close-mid-body" => f.close_mid_body = Some(num(&flag, &value()?)?),
            "--bad-magic" => f.bad_magic = Some(num(&flag, &value()?)?),
            "--huge-body-len" => f.huge_body_len = Some(num(&flag, &value()?)?),
            "--reset" => f.reset = Some(num(&flag, &value()?)?),
            "--garbage-after" => f.garbage_after = Some(num(&flag, &value()?)?),
            "--wrong-proto" => f.wrong_proto = Some(num(&flag, &value()?)?),
            "--duplicate" => f.duplicate = Some(num(&flag, &value()?)?),
            "--stop-reading" => f.stop_reading = true,
            "--opend-lost" => f.opend_lost = Some(num(&flag, &value()?)?),
            "--ws-error" => {
                let v = value()?;
                let (p, e) = v
                    .split_once(':')
                    .ok_or_else(|| format!("--ws-error: expected P:N, got {v:?}"))?;
                f.peer_error = Some((num(&flag, p)?, num(&flag, e)?));
            }
            "--after" => f.after_n = num(&flag, &value()?)?,
            "--omit-ret-fields" => f.omit_ret_fields = true,
            "--notify-on" => config.notify_on = list(&flag, &value()?)?,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
        if inline.is_some()
            && matches!(
                flag.as_str(),
                "--rate-limit-per-connection"
                    | "--require-encryption"
                    | "--byte-at-a-time"
                    | "--stop-reading"
                    | "--omit-ret-fields"
            )
        {
            return Err(format!("{flag} takes no value"));
        }
    }
    match (tls_cert, tls_key) {
        (Some(c), Some(k)) => {
            config.ws_tls =
                Some(WsTls::from_pem_files(&c, &k).map_err(|e| format!("--ws-tls-cert: {e}"))?)
        }
        (None, None) => {}
        _ => return Err("--ws-tls-cert and --ws-tls-key go together".into()),
    }
    if config.ws_port.is_none()
        && (ws_port_file.is_some() || config.ws_key.is_some() || config.ws_tls.is_some())
    {
        return Err("--ws-port-file, --ws-key and --ws-tls-* need --ws-port".into());
    }
    config.groups = match groups_file {
        Some(path) => read_groups(&path)?,
        None if lang_set => Config::default_groups(config.lang),
        None => config.groups,
    };
    Ok(Some(Args {
        config,
        port_file,
        ws_port_file,
        command,
    }))
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{flag}: {v:?} is not a valid number"))
}

fn list(flag: &str, v: &str) -> Result<Vec<u32>, String> {
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| num(flag, s))
        .collect()
}

fn parse_rate_limit(v: &str) -> Result<Option<RateLimit>, String> {
    if v == "off" {
        return Ok(None);
    }
    let bad = || format!("--rate-limit: expected N/SECS (e.g. 10/30) or off, got {v:?}");
    let (n, secs) = v.split_once('/').ok_or_else(bad)?;
    let max: u32 = n.trim().parse().map_err(|_| bad())?;
    let secs: f64 = secs.trim().parse().map_err(|_| bad())?;
    if !(secs.is_finite() && secs > 0.0) {
        return Err(bad());
    }
    Ok(Some(RateLimit {
        max,
        window: Duration::from_secs_f64(secs),
        per_connection: false,
    }))
}

fn read_groups(path: &str) -> Result<Vec<GroupEntry>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--groups: cannot read {path}: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("--groups {path}: invalid JSON: {e}"))?;
    let items = value
        .as_array()
        .ok_or_else(|| format!("--groups {path}: expected a JSON array of groups"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let name = g
                .get("groupName")
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("--groups {path}: item {i} has no string \"groupName\""))?;
            let t = g.get("groupType").and_then(|v| v.as_i64());
            match t {
                Some(t @ (1 | 2)) => Ok(GroupEntry::new(name, t as i32)),
                _ => Err(format!(
                    "--groups {path}: item {i} needs \"groupType\" 1 (custom) or 2 (system)"
                )),
            }
        })
        .collect()
}

/// How opend-sim stops: on Unix SIGINT / SIGTERM are blocked in every thread and taken
/// by `sigwait` (and passed on to the command it runs); elsewhere Ctrl-C ends the process
/// and the command, which share its console.
#[cfg(unix)]
mod stop {
    pub struct Signals(libc::sigset_t);

    /// Blocks SIGINT and SIGTERM in this thread (and so in every thread spawned after) so
    /// that `sigwait` can take them. Child processes start with an empty mask (std resets it).
    pub fn block() -> Signals {
        // SAFETY: sigset_t is plain data; the calls only read and write the local set.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Signals(set)
        }
    }

    impl Signals {
        pub fn wait(&self) -> i32 {
            let mut sig = 0;
            // SAFETY: `self.0` is an initialised sigset and `sig` a valid out-pointer.
            unsafe {
                libc::sigwait(&self.0, &mut sig);
            }
            sig
        }

        /// Passes every SIGINT / SIGTERM on to the command; its exit ends the run.
        pub fn forward_to(self, child: &std::process::Child) {
            let pid = child.id() as libc::pid_t;
            std::thread::spawn(move || {
                loop {
                    let sig = self.wait();
                    // SAFETY: plain kill(2) on our own child's pid.
                    unsafe {
                        libc::kill(pid, sig);
                    }
                }
            });
        }
    }

    /// The command's exit code, or 128 + the signal that ended it, as a shell reports it.
    pub fn exit_code(s: std::process::ExitStatus) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        match (s.code(), s.signal()) {
            (Some(c), _) => c,
            (None, Some(sig)) => 128 + sig,
            _ => 1,
        }
    }
}

#[cfg(not(unix))]
mod stop {
    pub struct Signals;

    pub fn block() -> Signals {
        Signals
    }

    impl Signals {
        /// Ctrl-C ends the process itself; until then there is nothing to wait for.
        pub fn wait(&self) -> i32 {
            loop {
                std::thread::park();
            }
        }

        pub fn forward_to(self, _child: &std::process::Child) {}
    }

    pub fn exit_code(s: std::process::ExitStatus) -> i32 {
        s.code().unwrap_or(1)
    }
}

fn write_port_file(path: &str, port: u16) -> std::io::Result<()> {
    // Write then rename, so a watcher never reads a half-written file.
    let tmp = format!("{path}.tmp{}", std::process::id());
    std::fs::write(&tmp, format!("{port}\n"))?;
    std::fs::rename(&tmp, path)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("opend-sim: {e}\ntry `opend-sim --help`");
            return ExitCode::from(2);
        }
    };
    let signals = stop::block();
    let host = args.config.host.clone();
    let tls = args.config.ws_tls.is_some();
    let sim = match Sim::start(args.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("opend-sim: cannot listen on {host}: {e}");
            return ExitCode::from(1);
        }
    };
    let port = sim.port();
    let ws_port = sim.ws_port();
    let files = [
        (&args.port_file, Some(port), "--port-file"),
        (&args.ws_port_file, ws_port, "--ws-port-file"),
    ];
    for (file, p, flag) in files {
        if let (Some(path), Some(p)) = (file, p)
            && let Err(e) = write_port_file(path, p)
        {
            eprintln!("opend-sim: cannot write {flag} {path}: {e}");
            sim.stop();
            return ExitCode::from(1);
        }
    }
    let mut line = format!("opend-sim listening on {}", sim.addr());
    if let Some(a) = sim.ws_addr() {
        let scheme = if tls { "wss" } else { "ws" };
        line.push_str(&format!("\nopend-sim WebSocket door on {scheme}://{a}"));
    }
    if args.command.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        drop(out);
        signals.wait();
        sim.stop();
        return ExitCode::SUCCESS;
    }

    eprintln!("{line}");
    let port_s = port.to_string();
    let ws_port_s = ws_port.map(|p| p.to_string()).unwrap_or_default();
    let argv: Vec<String> = args
        .command
        .iter()
        .map(|a| {
            a.replace("{port}", &port_s)
                .replace("{ws_port}", &ws_port_s)
        })
        .collect();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env("OPEND_SIM_PORT", &port_s)
        .env("OPEND_SIM_HOST", &host);
    if ws_port.is_some() {
        cmd.env("OPEND_SIM_WS_PORT", &ws_port_s);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("opend-sim: cannot run {:?}: {e}", argv[0]);
            sim.stop();
            return ExitCode::from(127);
        }
    };
    signals.forward_to(&child);
    let status = child.wait();
    sim.stop();
    let code = match status {
        Ok(s) => stop::exit_code(s),
        Err(e) => {
            eprintln!("opend-sim: waiting for the command failed: {e}");
            1
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
