//! Where the store lives.

use std::path::PathBuf;

/// The store folder: `$PLUGCTL_HOME`, else `$XDG_DATA_HOME/plugctl`, else
/// `$HOME/.local/share/plugctl`; `None` when none of them is set.
pub fn default_root() -> Option<PathBuf> {
    root_from(|name| std::env::var_os(name).filter(|v| !v.is_empty()))
}

/// [`default_root`] with the environment given (tests need not mutate it).
pub fn root_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    if let Some(home) = env("PLUGCTL_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(data) = env("XDG_DATA_HOME") {
        return Some(PathBuf::from(data).join("plugctl"));
    }
    env("HOME").map(|home| PathBuf::from(home).join(".local/share/plugctl"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugctl_home_then_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).into())
            }
        };
        const ALL: &[(&str, &str)] = &[
            ("PLUGCTL_HOME", "/p"),
            ("XDG_DATA_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(root_from(env(ALL)), Some(PathBuf::from("/p")));
        assert_eq!(root_from(env(&ALL[1..])), Some(PathBuf::from("/x/plugctl")));
        assert_eq!(
            root_from(env(&ALL[2..])),
            Some(PathBuf::from("/h/.local/share/plugctl"))
        );
        assert_eq!(root_from(env(&[])), None);
    }
}
