//! Argon2 (id and i) PHC strings: our own hashes and imported ones.

use std::sync::Mutex;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::super::digest::ct_eq;
use super::super::random::random_bytes;
use super::DigestKind;

pub(super) const ARGON2ID_FORMAT: &str =
    "a PHC string like $argon2id$v=19$m=19456,t=2,p=1$<base64 salt>$<base64 hash>";
pub(super) const ARGON2I_FORMAT: &str =
    "a PHC string like $argon2i$v=19$m=4096,t=3,p=1$<base64 salt>$<base64 hash>";

/// Our parameters (OWASP's argon2id baseline).
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;

/// Caps on imported parameters: 256 MiB and 16 passes bound one check.
const MAX_M_COST_KIB: u32 = 256 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;
const MAX_SALT_LEN: usize = 64;

/// A structurally valid argon2 PHC string.
pub(super) struct Parsed<'a> {
    hash: PasswordHash<'a>,
    algorithm: Algorithm,
    version: Version,
    params: Params,
}

fn our_params() -> Params {
    Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .expect("constant argon2 parameters are valid")
}

/// Spare argon2 working memory (19 MiB each at our parameters), reused across hashes.
///
/// Allocating it afresh for every hash was measured to make a password check in the
/// server ~40 % slower than the same check in a loop: each hashing thread has its own
/// malloc arena, so most hashes got memory the allocator had just returned to the OS
/// and faulted it in again. At most [`max_spare_memories`] are kept (about what a busy
/// hashing pool holds anyway); extra ones are freed.
static SPARE_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

fn max_spare_memories() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Runs `f` with `block_count` blocks of argon2 memory, reused when it is our size.
fn with_memory<R>(block_count: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let ours = block_count == our_params().block_count();
    let spare = if ours {
        SPARE_MEMORY.lock().ok().and_then(|mut spare| spare.pop())
    } else {
        None
    };
    // Every block is overwritten by the first pass, so reused memory needs no clearing.
    let mut memory = spare.unwrap_or_else(|| new_memory(block_count));
    let result = f(&mut memory);
    if ours {
        if let Ok(mut spare) = SPARE_MEMORY.lock() {
            if spare.len() < max_spare_memories() {
                spare.push(memory);
            }
        }
    }
    result
}

/// Fresh argon2 memory, in transparent huge pages where the kernel offers them on request
/// (`transparent_hugepage/enabled` = `madvise`, a common default). A hash reads its 19 MiB
/// in a data-dependent order, and with 4 KiB pages most of those reads miss the TLB.
fn new_memory(block_count: usize) -> Vec<Block> {
    let mut memory: Vec<Block> = Vec::with_capacity(block_count);
    advise_huge_pages(memory.as_mut_ptr().cast(), block_count * size_of::<Block>());
    // Touched only now, after the advice, so the first faults can take huge pages.
    memory.resize(block_count, Block::default());
    memory
}

/// Asks for huge pages over the whole 2 MiB pages inside `len` bytes at `start`.
#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *mut u8, len: usize) {
    const HUGE_PAGE: usize = 2 << 20;
    let first = (start as usize).next_multiple_of(HUGE_PAGE);
    let end = (start as usize + len) / HUGE_PAGE * HUGE_PAGE;
    if end > first {
        // SAFETY: the range lies inside an allocation this function's caller owns, and
        // MADV_HUGEPAGE only changes how the kernel backs it, never its contents.
        unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_start: *mut u8, _len: usize) {}

pub(super) fn hash(password: &str) -> String {
    let salt_bytes = random_bytes::<16>();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes is a valid salt length");
    let params = our_params();
    let mut out = [0u8; OUTPUT_LEN];
    with_memory(params.block_count(), |memory| {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password.as_bytes(), &salt_bytes, &mut out, memory)
    })
    .expect("argon2id hashing with valid parameters cannot fail");
    // The PHC string `Argon2::hash_password` would build, from our own output.
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("constant argon2 parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("32 bytes is a valid output length")),
    }
    .to_string()
}

pub(super) fn parse(kind: DigestKind, digest: &str) -> Result<Parsed<'_>, &'static str> {
    let hash = PasswordHash::new(digest).map_err(|_| "not a PHC string")?;
    let algorithm = match (kind, hash.algorithm.as_str()) {
        (DigestKind::Argon2id, "argon2id") => Algorithm::Argon2id,
        (DigestKind::Argon2i, "argon2i") => Algorithm::Argon2i,
        _ => return Err("wrong algorithm identifier"),
    };
    // The reference implementation reads a missing `v=` as version 0x10.
    let version = match hash.version {
        None | Some(0x10) => Version::V0x10,
        Some(0x13) => Version::V0x13,
        Some(_) => return Err("unknown argon2 version"),
    };
    let params = Params::try_from(&hash).map_err(|_| "invalid m, t or p parameters")?;
    if params.m_cost() > MAX_M_COST_KIB
        || params.t_cost() > MAX_T_COST
        || params.p_cost() > MAX_P_COST
    {
        return Err("cost parameters above the import limit (m <= 262144, t <= 16, p <= 16)");
    }
    let salt = hash.salt.ok_or("missing salt")?;
    let mut salt_buf = [0u8; MAX_SALT_LEN];
    let salt_len = salt
        .decode_b64(&mut salt_buf)
        .map_err(|_| "salt is not valid base64")?
        .len();
    if salt_len < 8 {
        return Err("salt shorter than 8 bytes");
    }
    if hash.hash.is_none() {
        return Err("missing hash");
    }
    Ok(Parsed {
        hash,
        algorithm,
        version,
        params,
    })
}

pub(super) fn verify(password: &str, parsed: &Parsed<'_>) -> bool {
    let (Some(salt), Some(expected)) = (parsed.hash.salt, parsed.hash.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; MAX_SALT_LEN];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(parsed.algorithm, parsed.version, parsed.params.clone());
    with_memory(parsed.params.block_count(), |memory| {
        hasher.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    })
    .is_ok()
        && ct_eq(&out, expected.as_bytes())
}

/// Whether an argon2id digest is at least as strong as what we produce today.
pub(super) fn meets_policy(parsed: &Parsed<'_>) -> bool {
    parsed.algorithm == Algorithm::Argon2id
        && parsed.version == Version::V0x13
        && parsed.params.m_cost() >= M_COST_KIB
        && parsed.params.t_cost() >= T_COST
        && parsed.params.p_cost() >= P_COST
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Whether the kernel backs memory with huge pages when it asks (`always` or `madvise`).
    fn huge_pages_on_request() -> bool {
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .is_ok_and(|s| s.contains("[always]") || s.contains("[madvise]"))
    }

    /// KiB of huge pages in the mapping that holds `addr`, from `/proc/self/smaps`.
    fn huge_page_kib_at(addr: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split(' ').next().unwrap_or("");
            if let Some((start, end)) = first.split_once('-') {
                if let (Ok(start), Ok(end)) = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                ) {
                    inside = (start..end).contains(&addr);
                    continue;
                }
            }
            if let (true, Some(kib)) = (inside, line.strip_prefix("AnonHugePages:")) {
                return kib.trim().trim_end_matches("kB").trim().parse().unwrap();
            }
        }
        0
    }

    #[test]
    fn fresh_memory_takes_huge_pages_when_the_kernel_offers_them() {
        if !huge_pages_on_request() {
            eprintln!("skipped: transparent huge pages are off on this machine");
            return;
        }
        let memory = new_memory(our_params().block_count());
        assert_eq!(memory.len(), our_params().block_count());
        let middle = memory.as_ptr() as usize + memory.len() * size_of::<Block>() / 2;
        let huge = huge_page_kib_at(middle);
        assert!(
            huge >= 2048,
            "the middle of the argon2 memory is in {huge} KiB of huge pages"
        );
    }
}
