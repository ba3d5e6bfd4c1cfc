//! The self-assessment report: cover, summary, a bar chart of theme scores against the industry
//! median, per-theme tables of answers, points, verdicts and law references, and a gap
//! analysis of where the level could be raised.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::Lang;
use super::layout::{ACCENT, BLACK, GREY, LIGHT, Layout, RED, text_width};
use crate::domain::schema::{Criterion, Kind, Level, Theme};
use crate::domain::scoring::{NOT_CERTIFIED, Score};
use crate::domain::{SubmissionStatus, VerdictKind};

/// Everything a report shows, gathered beforehand so that rendering is pure.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub enterprise_name: String,
    pub credit_code: String,
    pub industry_code: String,
    pub schema_id: String,
    pub version: String,
    pub schema_hash: String,
    pub submission_id: i64,
    pub status: SubmissionStatus,
    /// The document date (the submission's last change), fixed by the data.
    pub date: NaiveDate,
    pub themes: Vec<Theme>,
    pub levels: Vec<Level>,
    pub criteria: Vec<Criterion>,
    /// Answer value (JSON) and N/A reason by criterion.
    pub answers: HashMap<String, (serde_json::Value, Option<String>)>,
    pub score: Score,
    pub reviewed: Option<Score>,
    /// The reviewer's verdict by criterion: `accept`, `adjust` or `request_evidence`, the
    /// share given with `adjust`, and the reason or comment.
    pub verdicts: HashMap<String, (VerdictKind, Option<f64>, Option<String>)>,
    /// Median theme scores of the industry, when at least five enterprises form the group.
    pub industry_median: Option<HashMap<String, f64>>,
    /// How the enterprise handled complaints in the year before the document date, shown
    /// beside the self-assessed answers of the complaint-handling (`disputes`) criteria.
    pub complaints: Option<crate::complaints::measures::Measures>,
}

const A4: (f32, f32) = (210.0, 297.0);
const MARGIN: f32 = 18.0;

fn level_label(levels: &[Level], id: &str, lang: Lang) -> String {
    levels
        .iter()
        .find(|l| l.id == id)
        .map(|l| lang.pick(&l.label.zh, &l.label.en).to_owned())
        .unwrap_or_else(|| lang.pick("未达标", "No level").to_owned())
}

/// The complaint figures measured by the service, as one clause.
fn measured_text(m: &crate::complaints::measures::Measures, lang: Lang) -> String {
    if m.received == 0 {
        return lang
            .pick(
                "实测（近一年）：无投诉记录",
                "Measured (last year): no complaints recorded",
            )
            .to_owned();
    }
    let pct = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{:.0}%", r * 100.0));
    match lang {
        Lang::Zh => format!(
            "实测（近一年）：投诉 {} 件，按时受理率 {}，和解率 {}",
            m.received,
            pct(m.on_time_rate),
            pct(m.reconciliation_rate)
        ),
        Lang::En => format!(
            "Measured (last year): {} complaints, {} acknowledged on time, {} reconciled",
            m.received,
            pct(m.on_time_rate),
            pct(m.reconciliation_rate)
        ),
    }
}

fn answer_text(
    c: &Criterion,
    value: Option<&(serde_json::Value, Option<String>)>,
    lang: Lang,
) -> String {
    let Some((v, na)) = value else {
        return lang.pick("未作答", "not answered").to_owned();
    };
    if v.is_null() {
        return format!(
            "{}：{}",
            lang.pick("不适用", "not applicable"),
            na.clone().unwrap_or_default()
        );
    }
    let option = |id: &str| {
        c.options.iter().find(|o| o.id == id).map_or_else(
            || id.to_owned(),
            |o| lang.pick(&o.label.zh, &o.label.en).to_owned(),
        )
    };
    match c.kind {
        Kind::YesNo => lang
            .pick(
                if v == true { "是" } else { "否" },
                if v == true { "yes" } else { "no" },
            )
            .to_owned(),
        Kind::Maturity => format!("{} {}/4", lang.pick("成熟度", "maturity"), v),
        Kind::SingleChoice => option(v.as_str().unwrap_or_default()),
        Kind::MultipleChoice => v
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| option(x.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("；")
            })
            .unwrap_or_default(),
        Kind::Measured => format!(
            "{} {}",
            v,
            c.measure.as_ref().map(|m| m.unit.as_str()).unwrap_or("")
        ),
        Kind::FreeText => v.as_str().unwrap_or_default().to_owned(),
    }
}

/// Law references with the edition, so that article 25 of 1993 (no insult) and of 2013
/// (seven-day returns) cannot be confused: 《消费者权益保护法》（2013年修正）第二十五条.
fn law_text(c: &Criterion, lang: Lang) -> String {
    crate::domain::schema::cite_refs(&c.law_refs, lang == Lang::Zh)
}

fn heading(l: &mut Layout, text: &str) {
    l.ensure(16.0);
    l.y += 6.0;
    let width = l.content_width();
    l.rect(MARGIN, l.y, width, 0.6, ACCENT);
    l.y += 8.0;
    l.text_at(MARGIN, l.y, text, 14.0, ACCENT);
    l.y += 3.0;
}

/// Renders the report; the same data and language always give the same bytes.
pub fn render(d: &ReportData, lang: Lang) -> Vec<u8> {
    let mut l = Layout::new(A4.0, A4.1, MARGIN, 22.0, 18.0);
    let w = l.content_width();
    let score_of = |s: &Score, id: &str| {
        s.themes
            .iter()
            .find(|t| t.id == id)
            .map_or(0.0, |t| t.score)
    };

    // Cover.
    l.y = 70.0;
    l.text_at(
        MARGIN,
        l.y,
        lang.pick(
            "消费者权益保护社会责任自评报告",
            "Consumer protection self-assessment report",
        ),
        22.0,
        ACCENT,
    );
    l.y += 10.0;
    l.text_at(
        MARGIN,
        l.y,
        lang.pick(
            "依据《良好企业保护消费者利益社会责任导则》编制的评价细则（非《导则》正式文本）",
            "Assessment specification based on the guideline (not its official text)",
        ),
        11.0,
        GREY,
    );
    l.y += 18.0;
    let state = match lang {
        Lang::Zh => status_zh(d.status),
        Lang::En => d.status.as_str(),
    };
    let cover = [
        (
            lang.pick("企业名称", "Enterprise"),
            d.enterprise_name.clone(),
        ),
        (
            lang.pick("统一社会信用代码", "Credit code"),
            d.credit_code.clone(),
        ),
        (lang.pick("行业代码", "Industry"), d.industry_code.clone()),
        (
            lang.pick("评价标准", "Schema"),
            format!("{} {}", d.schema_id, d.version),
        ),
        (lang.pick("校验值", "Checksum"), d.schema_hash.clone()),
        (
            lang.pick("自评编号", "Submission"),
            d.submission_id.to_string(),
        ),
        (lang.pick("状态", "Status"), state.to_owned()),
        (lang.pick("日期", "Date"), d.date.to_string()),
    ];
    for (label, value) in cover {
        l.text_at(MARGIN, l.y, label, 10.0, GREY);
        let start = l.y;
        l.y -= 4.0;
        l.paragraph(MARGIN + 42.0, w - 42.0, &value, 10.5, BLACK);
        l.y = l.y.max(start) + 5.0;
    }

    // Summary.
    l.new_page();
    heading(&mut l, lang.pick("一、总体结果", "1. Summary"));
    let final_score = d.reviewed.as_ref().unwrap_or(&d.score);
    let red = final_score.red_line_failed;
    let mut lines = vec![
        format!(
            "{}：{:.2}",
            lang.pick("总分", "Total score"),
            final_score.total
        ),
        format!(
            "{}：{}",
            lang.pick("等级", "Level"),
            level_label(&d.levels, &final_score.level, lang)
        ),
        format!(
            "{}：{}",
            lang.pick("红线项", "Red lines"),
            if red {
                lang.pick("未通过（不予评定等级）", "FAILED (no level)")
            } else {
                lang.pick("全部通过", "all met")
            }
        ),
    ];
    lines.push(format!(
        "{}：{}",
        lang.pick("法定义务", "Legal duties"),
        if final_score.statutory_breaches.is_empty() {
            lang.pick("全部履行", "all met")
        } else {
            lang.pick("未全部履行（不予评定等级）", "NOT all met (no level)")
        }
    ));
    // Each blocking criterion, with its law and why it falls short.
    for id in final_score
        .red_lines_failed
        .iter()
        .chain(&final_score.statutory_breaches)
    {
        let Some(c) = d.criteria.iter().find(|c| c.id == *id) else {
            continue;
        };
        let why = final_score
            .explanation
            .iter()
            .find(|e| e.id == *id)
            .map(|e| e.detail.to_string())
            .unwrap_or_default();
        let law = law_text(c, lang);
        let law = if law.is_empty() {
            String::new()
        } else {
            format!("（{law}）")
        };
        lines.push(format!(
            "· {}{law}：{why}",
            lang.pick(&c.title.zh, &c.title.en)
        ));
    }
    if let Some(r) = &d.reviewed {
        lines.push(format!(
            "{}：{:.2}（{}）；{}：{:.2}（{}）",
            lang.pick("自评得分", "Self-assessed"),
            d.score.total,
            level_label(&d.levels, &d.score.level, lang),
            lang.pick("审核得分", "reviewed"),
            r.total,
            level_label(&d.levels, &r.level, lang)
        ));
    }
    for line in lines {
        l.paragraph(
            MARGIN,
            w,
            &line,
            11.0,
            if line.contains("不予评定等级") || line.contains("no level") || line.starts_with('·')
            {
                RED
            } else {
                BLACK
            },
        );
    }

    // Bar chart of theme scores, with the industry median where the group is large enough.
    heading(&mut l, lang.pick("二、各主题得分", "2. Score by theme"));
    let label_w = 46.0;
    let bar_w = w - label_w - 14.0;
    for t in &d.themes {
        l.ensure(11.0);
        l.y += 7.0;
        let s = score_of(final_score, &t.id);
        l.text_at(MARGIN, l.y, lang.pick(&t.title.zh, &t.title.en), 9.0, BLACK);
        l.rect(MARGIN + label_w, l.y - 4.0, bar_w, 4.2, LIGHT);
        l.rect(
            MARGIN + label_w,
            l.y - 4.0,
            bar_w * (s as f32 / 100.0),
            4.2,
            ACCENT,
        );
        l.text_at(
            MARGIN + label_w + bar_w + 2.0,
            l.y - 0.6,
            &format!("{s:.0}"),
            8.5,
            BLACK,
        );
        if let Some(m) = d.industry_median.as_ref().and_then(|m| m.get(&t.id)) {
            l.rect(
                MARGIN + label_w + bar_w * (*m as f32 / 100.0) - 0.4,
                l.y - 5.0,
                0.8,
                6.2,
                RED,
            );
        }
    }
    l.y += 6.0;
    let legend = if d.industry_median.is_some() {
        lang.pick(
            "红色竖线：本行业中位数（至少5家企业）",
            "Red mark: industry median (groups of 5 or more)",
        )
    } else {
        lang.pick(
            "本行业企业少于5家，不显示行业中位数。",
            "Fewer than 5 enterprises in the industry: no median shown.",
        )
    };
    l.paragraph(MARGIN, w, legend, 8.5, GREY);

    // Per-theme tables.
    heading(&mut l, lang.pick("三、逐项评价", "3. Criteria"));
    let explanation: HashMap<&str, &crate::domain::scoring::CriterionScore> = final_score
        .explanation
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    for t in &d.themes {
        l.ensure(20.0);
        l.y += 4.0;
        l.paragraph(MARGIN, w, lang.pick(&t.title.zh, &t.title.en), 12.0, ACCENT);
        for c in d.criteria.iter().filter(|c| c.theme == t.id) {
            l.ensure(16.0);
            l.y += 1.5;
            let top = l.y;
            l.rect(MARGIN, top, w, 0.2, LIGHT);
            let points = explanation.get(c.id.as_str()).map_or(0.0, |e| e.points);
            let title = lang.pick(&c.title.zh, &c.title.en);
            l.paragraph(MARGIN, w - 24.0, title, 9.5, BLACK);
            let pts = format!("{points:.2}");
            l.text_at(
                MARGIN + w - text_width(&pts, 9.5),
                top + 4.5,
                &pts,
                9.5,
                ACCENT,
            );
            let mut detail = format!(
                "{}：{}",
                lang.pick("回答", "Answer"),
                answer_text(c, d.answers.get(&c.id), lang)
            );
            if let Some((verdict, share, note)) = d.verdicts.get(&c.id) {
                let mut v = match verdict {
                    VerdictKind::Accept => lang.pick("认可", "accepted").to_owned(),
                    VerdictKind::Adjust => format!(
                        "{} {:.2}",
                        lang.pick("调整为", "adjusted to"),
                        share.unwrap_or_default()
                    ),
                    VerdictKind::RequestEvidence => {
                        lang.pick("要求补充证据", "evidence requested").to_owned()
                    }
                };
                if let Some(note) = note {
                    v.push_str(&format!(" — {note}"));
                }
                detail.push_str(&format!("；{}：{v}", lang.pick("审核意见", "Reviewer")));
            }
            if c.theme == "disputes"
                && let Some(m) = &d.complaints
            {
                detail.push_str(&format!("；{}", measured_text(m, lang)));
            }
            let law = law_text(c, lang);
            if !law.is_empty() {
                detail.push_str(&format!("；{}：{law}", lang.pick("法律依据", "Law")));
            }
            l.paragraph(MARGIN + 3.0, w - 3.0, &detail, 8.0, GREY);
        }
    }

    // Gap analysis: where points are missing, most first.
    heading(&mut l, lang.pick("四、改进建议", "4. Where to improve"));
    let mut gaps: Vec<(&Criterion, f64)> = final_score
        .explanation
        .iter()
        .filter(|e| e.max_points - e.points > 0.005)
        .filter_map(|e| {
            Some((
                d.criteria.iter().find(|c| c.id == e.id)?,
                e.max_points - e.points,
            ))
        })
        .collect();
    gaps.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    let next_level = d
        .levels
        .iter()
        .rev()
        .find(|lv| lv.min_score > final_score.total)
        .map(|lv| (lv, lv.min_score - final_score.total));
    if let Some((lv, missing)) = next_level {
        let text = format!(
            "{} {}{:.2} {}",
            lang.pick("距离", "To reach"),
            lang.pick(&lv.label.zh, &lv.label.en),
            missing,
            lang.pick(
                "分。以下各项提升空间最大：",
                "more points are needed. These criteria offer the most:"
            )
        );
        l.paragraph(MARGIN, w, &text, 10.0, BLACK);
    } else if final_score.level != NOT_CERTIFIED {
        l.paragraph(
            MARGIN,
            w,
            lang.pick("已达到最高等级。", "The highest level is reached."),
            10.0,
            BLACK,
        );
    }
    for (c, available) in gaps.iter().take(10) {
        l.ensure(14.0);
        l.y += 1.0;
        let title = format!("{}（+{available:.2}）", lang.pick(&c.title.zh, &c.title.en));
        l.paragraph(MARGIN, w, &title, 9.5, BLACK);
        l.paragraph(
            MARGIN + 3.0,
            w - 3.0,
            lang.pick(&c.guidance.zh, &c.guidance.en),
            8.0,
            GREY,
        );
    }

    let header = format!(
        "{} · {}",
        d.enterprise_name,
        lang.pick("自评报告", "Self-assessment report")
    );
    let identifier = format!(
        "csr-assess/report/{}/{}/{}",
        d.submission_id, d.schema_hash, d.date
    );
    l.finish(
        lang.pick(
            "消费者权益保护社会责任自评报告",
            "Consumer protection self-assessment report",
        ),
        &identifier,
        &d.enterprise_name,
        d.date,
        |page, n, count| {
            if n > 1 {
                page.text_at(MARGIN, 12.0, &header, 8.0, GREY);
                let w = page.content_width();
                page.rect(MARGIN, 14.0, w, 0.2, LIGHT);
            }
            let footer = match lang {
                Lang::Zh => format!("第 {n} 页 / 共 {count} 页"),
                Lang::En => format!("Page {n} of {count}"),
            };
            let x = (A4.0 - text_width(&footer, 8.0)) / 2.0;
            page.text_at(x, A4.1 - 9.0, &footer, 8.0, GREY);
        },
    )
}
/// A submission's status as the Chinese report prints it.
fn status_zh(s: SubmissionStatus) -> &'static str {
    match s {
        SubmissionStatus::Draft => "草稿",
        SubmissionStatus::Submitted => "已提交",
        SubmissionStatus::UnderReview => "审核中",
        SubmissionStatus::Approved => "已通过",
        SubmissionStatus::Returned => "已退回",
        SubmissionStatus::Rejected => "未通过",
        SubmissionStatus::Withdrawn => "已撤回",
    }
}
