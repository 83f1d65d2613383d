//! Every SARIF log the golden cases print (each step with `--format sarif`)
//! checked by an independent validator: Microsoft's SARIF Multitool
//! (`sarif-multitool validate`, the npm package `@microsoft/sarif-multitool`,
//! a self-contained Linux binary), installed by .ci/run into tools/sarif/.
//! The logs must give no error and no warning, except a whole-file location
//! without a region (SARIF2017 `Warning_MissingRegion`: SARIF means the
//! whole artifact by it, and a drifted file that does not exist has no
//! line); and each log must have been analysed by the validator's own rules,
//! since a log it cannot read is otherwise passed over in silence.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::CASES;

/// The validator .ci/run installs.
const MULTITOOL: &str = "tools/sarif/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool";

#[test]
fn golden_sarif_logs_pass_the_sarif_multitool() {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join(MULTITOOL);
    if !tool.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{MULTITOOL} is not installed, and CI=true: install it (see .ci/run)"
        );
        eprintln!("SKIPPED: the SARIF Multitool is not installed (npm ci --prefix tools/sarif)");
        return;
    }
    let logs = sarif_outputs();
    assert!(logs.len() >= 9, "found only {logs:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (case, name) in &logs {
        let to = dir.path().join(format!("{case}-{name}.sarif"));
        std::fs::copy(
            Path::new(CASES).join(case).join(format!("{name}.stdout")),
            &to,
        )
        .unwrap();
        files.push(to);
    }
    // The canary: a log that breaks a rule (a result without its rule id)
    // must be reported, or the validator checks nothing.
    let canary = dir.path().join("canary.sarif");
    let mut broken: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let result = &mut broken["runs"][0]["results"][0];
    assert!(result.is_object(), "the first log has no result to break");
    result.as_object_mut().unwrap().remove("ruleId");
    result.as_object_mut().unwrap().remove("ruleIndex");
    std::fs::write(&canary, serde_json::to_vec_pretty(&broken).unwrap()).unwrap();

    let report = validate(&tool, dir.path(), files.iter().chain([&canary]));
    let problems: Vec<&Finding> = report
        .iter()
        .filter(|f| f.file != canary)
        .filter(|f| f.level == "error" || f.level == "warning")
        .filter(|f| !(f.rule == "SARIF2017" && f.message_id == "Warning_MissingRegion"))
        .collect();
    assert!(
        problems.is_empty(),
        "the SARIF Multitool reports:\n{}",
        problems
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for file in &files {
        assert!(
            report
                .iter()
                .any(|f| &f.file == file && f.rule.starts_with("SARIF")),
            "the SARIF Multitool did not analyse {}",
            file.display()
        );
    }
    assert!(
        report
            .iter()
            .any(|f| f.file == canary && f.rule == "SARIF1010" && f.level == "error"),
        "the SARIF Multitool let a result without a rule id pass: {report:#?}"
    );
}

/// `(case, output name)` of every step that prints SARIF.
fn sarif_outputs() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(CASES).unwrap() {
        let case = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(case.join("case.toml")) else {
            continue;
        };
        let toml: toml::Table = toml::from_str(&text).unwrap();
        let steps = toml.get("step").and_then(|s| s.as_array()).cloned();
        for step in steps.unwrap_or_default() {
            let args: Vec<&str> = step["args"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            let sarif = args.windows(2).any(|w| w == ["--format", "sarif"]);
            if let (true, Some(output)) = (sarif, step.get("output").and_then(|o| o.as_str())) {
                let name = case.file_name().unwrap().to_string_lossy().into_owned();
                found.push((name, output.to_string()));
            }
        }
    }
    found.sort();
    found
}

/// One result of the validator about one of the logs.
#[derive(Debug)]
struct Finding {
    file: PathBuf,
    line: u64,
    rule: String,
    level: String,
    message_id: String,
    arguments: Vec<String>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.file.file_name().unwrap_or_default().to_string_lossy();
        write!(
            f,
            "{name}:{}: {} {} {} {:?}",
            self.line, self.level, self.rule, self.message_id, self.arguments
        )
    }
}

/// Runs `validate` on `files` (in `dir`) and reads its own SARIF output.
fn validate<'a>(tool: &Path, dir: &Path, files: impl Iterator<Item = &'a PathBuf>) -> Vec<Finding> {
    let out = dir.join("validation.json");
    let run = Command::new(tool)
        .arg("validate")
        .args(files)
        .args(["--output", &out.to_string_lossy()])
        .args(["--log", "ForceOverwrite", "--level", "Error;Warning;Note"])
        // The validator is a .NET program: spare it ICU, which it only needs for cultures.
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "sarif-multitool validate failed:\n{text}"
    );
    let log: Value = serde_json::from_slice(&std::fs::read(&out).unwrap())
        .unwrap_or_else(|e| panic!("the validator wrote no log ({e}):\n{text}"));
    let results = log["runs"][0]["results"].as_array().cloned();
    results
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            let uri = location["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or_default();
            Finding {
                file: PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri)),
                line: location["region"]["startLine"].as_u64().unwrap_or(0),
                rule: r["ruleId"].as_str().unwrap_or_default().to_string(),
                // A result without a level is a warning (SARIF's default).
                level: r["level"].as_str().unwrap_or("warning").to_string(),
                message_id: r["message"]["id"].as_str().unwrap_or_default().to_string(),
                arguments: r["message"]["arguments"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}
