//! A small User-Agent reader for the "active devices" list: browser, version, OS, mobile.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Activity {
    pub ip_address: Option<String>,
    pub device_type: Option<String>,
    pub browser_name: Option<String>,
    pub browser_version: Option<String>,
    pub os_name: Option<String>,
    pub is_mobile: bool,
}

/// Reads the browser and platform from a User-Agent header; unknown parts stay `None`.
pub fn activity(ip: Option<String>, user_agent: Option<&str>) -> Activity {
    let ua = user_agent.unwrap_or("");
    let is_mobile = ua.contains("Mobile") || ua.contains("Android") || ua.contains("iPhone");
    // Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
    let browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ];
    let mut browser_name = None;
    let mut browser_version = None;
    for (marker, name) in browsers {
        if let Some(pos) = ua.find(marker) {
            if name == "Safari" && !ua.contains("Safari/") {
                continue;
            }
            let version: String = ua[pos + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            browser_name = Some(name.to_string());
            browser_version = (!version.is_empty()).then_some(version);
            break;
        }
    }
    let os_name = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(m, _)| ua.contains(m))
    .map(|(_, n)| n.to_string());
    let device_type = if ua.contains("iPad") || ua.contains("Tablet") {
        Some("tablet".to_string())
    } else if is_mobile {
        Some("mobile".to_string())
    } else if os_name.is_some() {
        Some("desktop".to_string())
    } else {
        None
    };
    Activity {
        ip_address: ip,
        device_type,
        browser_name,
        browser_version,
        os_name,
        is_mobile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_browsers() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        let a = activity(None, Some(chrome));
        assert_eq!(a.browser_name.as_deref(), Some("Chrome"));
        assert_eq!(a.browser_version.as_deref(), Some("156.0.0.0"));
        assert_eq!(a.os_name.as_deref(), Some("Linux"));
        assert!(!a.is_mobile);
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        let a = activity(None, Some(iphone));
        assert_eq!(a.browser_name.as_deref(), Some("Safari"));
        assert_eq!(a.os_name.as_deref(), Some("iOS"));
        assert!(a.is_mobile);
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0";
        assert_eq!(
            activity(None, Some(firefox)).browser_name.as_deref(),
            Some("Firefox")
        );
        assert_eq!(activity(None, None), Activity::default());
    }
}
