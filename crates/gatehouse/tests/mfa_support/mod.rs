//! Helpers for the MFA tests: TOTP codes from `oathtool` (an independent RFC 6238
//! implementation), QR codes read back with `rsvg-convert` + `zbarimg`, and the small
//! parsers the tests need (base32, `otpauth://` URIs). Used by `tests/mfa.rs` and
//! `tests/mfa_processes.rs`.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};
use std::sync::Once;

/// What to install when a tool is missing (Debian package names).
pub const INSTALL_HINT: &str = "apt-get install -y oathtool zbar-tools librsvg2-bin";

/// TOTP parameters the API pins: 30 s steps.
pub const STEP_SECONDS: i64 = 30;

/// Runs an external tool; a missing tool fails the test with what to install.
fn run_tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "`{program}` is needed by the MFA tests but could not be run ({e}); \
                 install the tools with `{INSTALL_HINT}`"
            )
        })
}

/// `YYYY-MM-DD HH:MM:SS UTC` for unix seconds (what `oathtool --now` parses).
pub fn utc_string(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn oathtool_raw(secret_b32: &str, unix_secs: i64) -> String {
    let now = utc_string(unix_secs);
    let out = run_tool("oathtool", &["--totp", "-b", "--now", &now, secret_b32]);
    assert!(
        out.status.success(),
        "oathtool --totp -b --now {now:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "oathtool printed {code:?}"
    );
    code
}

/// The 6-digit TOTP code (SHA-1, 30 s) for a base32 secret at `unix_secs`, computed by
/// `oathtool`. The first call checks the tool (and our time formatting) against the
/// RFC 6238 test vectors.
pub fn totp_code(secret_b32: &str, unix_secs: i64) -> String {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(|| {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last six digits.
        let rfc = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(
                oathtool_raw(rfc, t),
                code,
                "oathtool disagrees with RFC 6238 at t = {t} ({})",
                utc_string(t)
            );
        }
    });
    oathtool_raw(secret_b32, unix_secs)
}

/// The code for the step `offset_steps` away from the one containing `now_ms`.
pub fn totp_code_at_ms(secret_b32: &str, now_ms: i64, offset_steps: i64) -> String {
    totp_code(
        secret_b32,
        now_ms.div_euclid(1000) + offset_steps * STEP_SECONDS,
    )
}

/// The RFC 6238 time step of `now_ms`.
pub fn step_of_ms(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000).div_euclid(STEP_SECONDS)
}

/// A six-digit code that is valid for none of the steps `now - 2 .. now + 2`.
pub fn wrong_code(secret_b32: &str, now_ms: i64) -> String {
    let valid: Vec<String> = (-2..=2)
        .map(|o| totp_code_at_ms(secret_b32, now_ms, o))
        .collect();
    ["000000", "123456", "999999", "424242", "271828", "314159"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .unwrap()
        .to_string()
}

/// RFC 4648 base32 (upper case, no padding) to bytes; panics on anything else.
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u64, 0u32);
    for c in s.bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("{c:?} is not a base32 character in {s:?}"))
            as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    assert!(
        buffer == 0,
        "{s:?} has non-zero trailing bits (not canonical base32)"
    );
    out
}

/// Decodes `%XX` escapes (UTF-8).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape in {s:?}")));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The parts of an `otpauth://totp/<issuer>:<account>?...` URI, decoded.
#[derive(Debug)]
pub struct OtpAuth {
    pub issuer_in_label: String,
    pub account: String,
    pub params: Vec<(String, String)>,
}

impl OtpAuth {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an `otpauth://totp/` URI (Key Uri Format).
pub fn parse_otpauth(uri: &str) -> OtpAuth {
    let rest = uri
        .strip_prefix("otpauth://totp/")
        .unwrap_or_else(|| panic!("not an otpauth://totp/ URI: {uri}"));
    let (label, query) = rest
        .split_once('?')
        .unwrap_or_else(|| panic!("no query in {uri}"));
    let label = percent_decode(label);
    let (issuer, account) = label
        .split_once(':')
        .unwrap_or_else(|| panic!("the label of {uri} is not issuer:account"));
    let params = query
        .split('&')
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .unwrap_or_else(|| panic!("parameter {p:?} of {uri} has no value"));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    OtpAuth {
        issuer_in_label: issuer.to_string(),
        account: account.to_string(),
        params,
    }
}

/// Checks a `POST /v1/me/totp` URI against the API contract and returns its base32 secret.
pub fn check_otpauth(uri: &str, issuer: &str, account: &str) -> String {
    let parsed = parse_otpauth(uri);
    assert_eq!(parsed.issuer_in_label, issuer, "label issuer of {uri}");
    assert_eq!(parsed.account, account, "label account of {uri}");
    let mut names: Vec<&str> = parsed.params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["algorithm", "digits", "issuer", "period", "secret"],
        "query parameters of {uri}"
    );
    assert_eq!(parsed.param("issuer"), Some(issuer), "{uri}");
    assert_eq!(parsed.param("algorithm"), Some("SHA1"), "{uri}");
    assert_eq!(parsed.param("digits"), Some("6"), "{uri}");
    assert_eq!(parsed.param("period"), Some("30"), "{uri}");
    let secret = parsed.param("secret").unwrap().to_string();
    assert!(
        !secret.is_empty()
            && !secret.contains('=')
            && secret
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
        "the secret is base32 without padding: {secret:?}"
    );
    let raw = base32_decode(&secret);
    assert!(
        raw.len() >= 16,
        "RFC 4226 wants at least 128-bit secrets; got {} bytes",
        raw.len()
    );
    secret
}

/// Renders an SVG to PNG with `rsvg-convert` (on white, as a page shows it) and reads the
/// QR code in it with `zbarimg --raw -q`; returns the decoded text.
pub fn decode_qr_svg(svg: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("qr.svg");
    let png_path = dir.path().join("qr.png");
    std::fs::write(&svg_path, svg).unwrap();
    let out = run_tool(
        "rsvg-convert",
        &[
            "--background-color=white",
            "--width=600",
            "--keep-aspect-ratio",
            "--format=png",
            "--output",
            png_path.to_str().unwrap(),
            svg_path.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "rsvg-convert could not render the QR SVG: {}\n{svg}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_tool("zbarimg", &["--raw", "-q", png_path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "zbarimg found no QR code in the rendered SVG (exit {}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("the QR code holds UTF-8");
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// How a person might type a backup code: other case, spaces and dashes in between.
pub fn retyped_backup_code(code: &str, variant: usize) -> String {
    let chars: Vec<char> = code.chars().filter(|c| *c != '-').collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && i % 3 == 0 {
            out.push_str(match variant % 3 {
                0 => "-",
                1 => " ",
                _ => " - ",
            });
        }
        let c = if c.is_lowercase() {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        };
        out.push(c);
    }
    if variant % 2 == 1 {
        out = format!(" {out} ");
    }
    out
}

/// Whether `code` occurs in `text` as a number of its own: not inside a longer run of
/// digits, nor as the fraction of a timestamp or float (`12.345678`).
pub fn contains_code(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}
