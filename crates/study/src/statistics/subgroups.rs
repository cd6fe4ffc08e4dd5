//! Results per subgroup (the paper reports them per tumour subtype): within each value of a
//! column, Harrell's C and the time-dependent AUC of the score and of the two Cox models'
//! linear predictors (fitted on the whole cohort). Small groups are reported, with the reason,
//! where a statistic cannot be estimated.

use super::cv::Estimate;
use super::report::{show_estimate, ByGroup, Group, GroupScore, Named};
use crate::survival::harrell::harrell;
use crate::survival::Surv;
use std::collections::BTreeMap;

/// The name of the group of rows whose value is blank.
pub const UNKNOWN: &str = "unknown";

/// Fewer events than this in a group are flagged.
pub const FEW_EVENTS: usize = 10;

/// `groups[i]` is row i's value of the column; `scores` are (name, one value per row).
pub fn by_group(column: &str, groups: &[String], surv: &Surv, scores: &[(String, &Vec<f64>)], horizons: &[(String, f64)]) -> ByGroup {
    let mut rows: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        // A blank value (about 2% of MAMA-MIA's subtypes) is a group of its own, named.
        rows.entry(if g.trim().is_empty() { UNKNOWN } else { g.as_str() }).or_default().push(i);
    }
    let mut out = Named::default();
    for (g, idx) in rows {
        let sub = surv.subset(&idx);
        let mut per = Named::default();
        for (name, s) in scores {
            let sc: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
            let harrell_c = match harrell(&sub, &sc) {
                Ok(c) if c.comparable > 0 => Estimate::Value(c.c),
                Ok(_) => Estimate::NotEstimable { not_estimable: "no comparable pairs".into() },
                Err(e) => Estimate::NotEstimable { not_estimable: e.to_string() },
            };
            // A score that does not vary within the group ranks nobody: C and AUC are 0.5 by
            // the tie convention. The Cox baseline on HR and HER2 is such a score within a
            // tumour subtype, which those two define; the report says so instead of leaving
            // a row of 0.5000 unexplained.
            let constant = sc.windows(2).all(|w| w[0] == w[1]);
            per.push(name.clone(), GroupScore { harrell_c, auc: super::aucs(&sub, &sc, horizons), constant });
        }
        // Too few events for a stable C-index: shown, and flagged rather than hidden.
        out.push(g, Group { n: sub.len(), events: sub.events(), scores: per, few_events: sub.events() < FEW_EVENTS });
    }
    ByGroup { column: column.to_owned(), groups: out }
}

/// The per-group table of `render_text`.
pub fn render(v: &ByGroup, horizons: &[String]) -> String {
    let mut out = format!("By {}:\n", v.column);
    out.push_str(&format!("  {:<18} {:>4} {:>6}  {:<14} {:>9}", "group", "n", "events", "score", "Harrell C"));
    for h in horizons {
        out.push_str(&format!(" {:>14}", format!("AUC({h})")));
    }
    out.push('\n');
    let (mut constant, mut few) = (false, false);
    for (g, r) in v.groups.iter() {
        let g = if r.few_events {
            few = true;
            format!("{g} †")
        } else {
            g.clone()
        };
        for (name, s) in r.scores.iter() {
            let mark = if s.constant { "*" } else { "" };
            constant |= !mark.is_empty();
            out.push_str(&format!("  {g:<18} {:>4} {:>6}  {name:<14} {:>9}", r.n.to_string(), r.events.to_string(), format!("{}{mark}", show_estimate(Some(&s.harrell_c)))));
            for h in horizons {
                out.push_str(&format!(" {:>14}", show_estimate(s.auc.get(h.trim()))));
            }
            out.push('\n');
        }
    }
    if few {
        out.push_str(&format!("  † fewer than {FEW_EVENTS} events: the group's C-index and AUCs are unstable\n"));
    }
    if constant {
        out.push_str("  * the score is the same for every patient of the group (e.g. the Cox baseline on HR and HER2 within a tumour subtype), so it ranks nobody: 0.5 by the tie convention\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_constant_within_a_group_is_marked_and_explained() {
        let surv = Surv::new(vec![100.0, 200.0, 300.0, 400.0, 150.0, 250.0], vec![true, false, true, true, false, true]).unwrap();
        let groups: Vec<String> = ["a", "a", "a", "b", "b", "b"].map(String::from).to_vec();
        let varying = vec![3.0, 1.0, 2.0, 0.5, 0.1, 0.9];
        let baseline = vec![0.7, 0.7, 0.7, -0.2, -0.2, -0.2];
        let v = by_group("subtype", &groups, &surv, &[("dl".into(), &varying), ("baseline".into(), &baseline)], &[]);
        let json = serde_json::to_value(&v).unwrap();
        for g in ["a", "b"] {
            let s = &json["groups"][g]["scores"];
            assert_eq!(s["baseline"]["constant"], true);
            assert_eq!(s["baseline"]["harrell_c"], 0.5);
            assert!(s["dl"].get("constant").is_none());
        }
        let text = render(&v, &[]);
        assert!(text.contains("0.5000*") && text.contains("* the score is the same for every patient of the group"), "{text}");
        // Nothing to explain where every score varies.
        let v = by_group("subtype", &groups, &surv, &[("dl".into(), &varying)], &[]);
        assert!(!render(&v, &[]).contains('*'));
    }
}
