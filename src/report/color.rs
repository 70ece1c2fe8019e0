//! The one colour decision: `--color`, then the environment, then the stream.

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// Whether a stream gets colour. `--color always|never` wins; with `auto`,
/// in this order: `NO_COLOR` (set, not empty) → no; `CLICOLOR_FORCE` or
/// `FORCE_COLOR` (set, not empty, not `0`/`false`) → yes; `CLICOLOR=0` → no;
/// `TERM=dumb` → no; `CI` (set, not empty, not `false`/`0`) → no; else
/// colour exactly when the stream is a terminal.
pub fn decide(when: ColorWhen, is_tty: bool, env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    let truthy = |name: &str| {
        set(name).is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false"))
    };
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            if set("NO_COLOR").is_some() {
                return false;
            }
            if truthy("CLICOLOR_FORCE") || truthy("FORCE_COLOR") {
                return true;
            }
            if set("CLICOLOR").is_some_and(|v| v == "0") {
                return false;
            }
            if set("TERM").is_some_and(|t| t == "dumb") {
                return false;
            }
            if truthy("CI") {
                return false;
            }
            is_tty
        }
    }
}

/// [`decide`] with the process environment.
pub fn decide_from_env(when: ColorWhen, is_tty: bool) -> bool {
    decide(when, is_tty, |k| std::env::var(k).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)], tty: bool) -> bool {
        decide(ColorWhen::Auto, tty, |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn environment_decides_in_order() {
        assert!(with(&[], true));
        assert!(!with(&[], false));
        assert!(!with(&[("NO_COLOR", "1")], true));
        assert!(with(&[("NO_COLOR", "")], true));
        assert!(with(&[("CLICOLOR_FORCE", "1")], false));
        assert!(!with(&[("CLICOLOR_FORCE", "0")], false));
        assert!(with(&[("FORCE_COLOR", "1")], false));
        assert!(with(&[("FORCE_COLOR", "true")], false));
        assert!(!with(&[("FORCE_COLOR", "0")], false));
        assert!(!with(&[("NO_COLOR", "1"), ("FORCE_COLOR", "1")], true));
        assert!(!with(&[("CLICOLOR", "0")], true));
        assert!(with(&[("CLICOLOR", "1")], true));
        assert!(!with(&[("TERM", "dumb")], true));
        assert!(!with(&[("CI", "true")], true));
        assert!(with(&[("CI", "false")], true));
        assert!(with(&[("CI", "true"), ("FORCE_COLOR", "1")], true));
        assert!(decide(ColorWhen::Always, false, |_| Some("1".into())));
        assert!(!decide(ColorWhen::Never, true, |_| None));
    }
}
