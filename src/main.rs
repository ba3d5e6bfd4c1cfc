//! Thin binary: parse the command line and hand over to the library.

fn main() -> std::process::ExitCode {
    return_freed_memory();
    csr_assess::cli::run()
}

/// glibc gives threads their own allocator arenas (up to eight per core) and keeps what each
/// thread freed in its arena. The service's threads (HTTP workers, the blocking pool, the render,
/// hashing and committing threads) each touched one, and together held tens of MiB that were
/// free. The binary allows four arenas, and a thread of it hands what they hold free back to the
/// system once a second (`malloc_trim`): together they keep the full load benchmark's peak
/// under 100 MiB on both backends (either alone did not on PostgreSQL; mimalloc peaked at
/// 215 MiB; docs/BENCHMARKS.md). The threshold above which a block gets its own mapping,
/// returned to the system when freed, stays at 128 KiB: glibc would raise it to the size of
/// each such block freed, up to 32 MiB, and keep the PDFs' and uploads' large buffers in the
/// arenas. Without it PostgreSQL's peak reached 100.4 MiB. `MALLOC_ARENA_MAX`,
/// `MALLOC_MMAP_THRESHOLD_` or `GLIBC_TUNABLES` set outside leave all of this to the operator.
#[allow(unsafe_code)]
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // An operator's own allocator settings win.
        let set_outside = [
            "MALLOC_ARENA_MAX",
            "MALLOC_MMAP_THRESHOLD_",
            "GLIBC_TUNABLES",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
        if !set_outside {
            // SAFETY: mallopt only changes a setting of glibc's allocator, before any thread
            // but this one exists.
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, 4);
                libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            }
        }
        let trim = || loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            // SAFETY: malloc_trim only returns free memory of glibc's arenas to the system; it
            // takes each arena's lock as malloc does.
            unsafe {
                libc::malloc_trim(0);
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("malloc-trim".into())
            .spawn(trim)
        {
            eprintln!("cannot start the malloc-trim thread: {e}");
        }
    }
}
