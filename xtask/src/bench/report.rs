//! The results: the median repetition, the Markdown table with growth and S4's slices, and the
//! JSON file.

use anyhow::Result;
use serde_json::{Value, json};

use super::{CLIENTS, Options, bench_dir};

/// The median repetition by rps.
pub(super) fn median(repetitions: &[Value]) -> Value {
    let mut sorted: Vec<&Value> = repetitions.iter().collect();
    sorted.sort_by(|a, b| a["rps"].as_f64().unwrap_or(0.0).total_cmp(&b["rps"].as_f64().unwrap_or(0.0)));
    let mut chosen = sorted.get(sorted.len() / 2).map_or(json!({}), |v| (*v).clone());
    chosen["repetitions"] = json!(repetitions.len());
    chosen
}

/// The table (stdout and `results.md`) and the JSON (`results.json`).
pub(super) fn report(options: &Options, results: &[Value]) -> Result<()> {
    let number =
        |value: &Value, digits: usize| value.as_f64().map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}"));
    let mut table = String::from(
        "| scenario | rps | p50 ms | p99 ms | errors | pgbench tps | ratio | statements/request | RSS MiB (peak) |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for result in results {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) |\n",
            result["scenario"].as_str().unwrap_or_default(),
            number(&result["rps"], 0),
            number(&result["p50_ms"], 2),
            number(&result["p99_ms"], 2),
            number(&result["errors"], 0),
            number(&result["pgbench_tps"], 0),
            number(&result["ratio"], 2),
            number(&result["statements_per_request"], 1),
            number(&result["rss_mib"], 0),
            number(&result["peak_rss_mib"], 0),
        ));
    }
    let rps = |name: &str| results.iter().find(|r| r["scenario"] == name).and_then(|r| r["rps"].as_f64());
    let mut growth = Vec::new();
    for (large, small) in [("s2", "s2-10k"), ("s5a", "s5a-10k"), ("s5b", "s5b-10k")] {
        if let (Some(at_large), Some(at_small)) = (rps(large), rps(small)) {
            growth.push(
                json!({"scenario": large, "rps_10k": at_small, "rps_100k_1m": at_large, "slower": at_small / at_large}),
            );
            table.push_str(&format!(
                "\nGrowth {large}: {at_small:.0} rps at 10k active → {at_large:.0} rps at 100k active + 1M decided ({:.2}× slower)",
                at_small / at_large
            ));
        }
    }
    for result in results.iter().filter(|r| r["half_rate_rps"].is_number()) {
        table.push_str(&format!(
            "\n{} at half its maximum ({} rps, fixed rate): p50 {} ms, p99 {} ms",
            result["scenario"].as_str().unwrap_or_default(),
            number(&result["half_rate_rps"], 0),
            number(&result["half_rate_p50_ms"], 2),
            number(&result["half_rate_p99_ms"], 2)
        ));
    }
    for result in results.iter().filter(|r| r["scenario"] == "s4") {
        table.push_str(&format!(
            "\nS4: {} claims handed out twice; throughput per 5 s slice: {}",
            result["handed_out_twice"],
            result["slices"].as_array().map_or_else(String::new, |s| s
                .iter()
                .map(|v| number(v, 0))
                .collect::<Vec<_>>()
                .join(", "))
        ));
    }
    let header = format!(
        "{} repetition(s) of {} s per scenario, {CLIENTS} clients, median by rps; durable PostgreSQL \
         (fsync, synchronous_commit and full_page_writes on) on this machine; {} CPUs.\n\n",
        options.repetitions,
        options.seconds,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    let markdown = format!("{header}{table}\n");
    std::fs::write(bench_dir().join("results.md"), &markdown)?;
    std::fs::write(
        bench_dir().join("results.json"),
        serde_json::to_string_pretty(&json!({"seconds": options.seconds, "repetitions": options.repetitions,
            "clients": CLIENTS, "scenarios": results, "growth": growth}))?,
    )?;
    #[expect(clippy::print_stdout, reason = "the table is the command's output")]
    {
        println!("{markdown}");
    }
    Ok(())
}
