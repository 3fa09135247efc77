//! The only `unsafe` code of plug-hooks: making sure a hook inherits no descriptor beyond 0-2.
//!
//! Rust opens its own descriptors with `O_CLOEXEC`, but plugctl may have
//! *inherited* descriptors without it from whatever started it (a CI runner,
//! a shell, a supervisor; the integration test found two), and those would
//! pass on to every hook. Right before each spawn, the host marks every
//! descriptor of the process from 3 up close-on-exec with one
//! `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)` (Linux 5.11+; `fcntl` on each
//! open descriptor otherwise). That changes only inherited descriptors: the
//! ones Rust opened already have the flag.
//!
//! Why not in the child (`Command::pre_exec`)? Any `pre_exec` makes std
//! `fork()` instead of using `posix_spawn` (vfork-style), which measured
//! 2 ms more per hook here, against a 1 ms budget for the whole dispatch.
//!
//! The calls are `unsafe` only because they are raw FFI on integers: they
//! read or write no memory of ours.
#![allow(unsafe_code)]

/// Marks every descriptor from 3 up close-on-exec, process-wide.
pub(crate) fn mark_inherited_fds_cloexec() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a syscall on integers; it touches no memory.
        let result = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if result == 0 {
            return;
        }
    }
    for fd in open_fds() {
        // SAFETY: `fcntl` on an integer; a descriptor closed meanwhile gives EBADF.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// The open descriptors from 3 up, from `/proc/self/fd` or `/dev/fd`.
fn open_fds() -> Vec<i32> {
    let listing = std::fs::read_dir("/proc/self/fd").or_else(|_| std::fs::read_dir("/dev/fd"));
    let Ok(listing) = listing else {
        return Vec::new();
    };
    listing
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= 3)
        .collect()
}
