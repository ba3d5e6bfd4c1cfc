//! The certificate: one landscape page with the enterprise, level, schema version, validity,
//! number, a QR code of the public verification page, and the signed payload embedded (in the
//! document's subject, and its signature printed) so it can be verified offline.

use chrono::NaiveDate;
use qrcodegen::{QrCode, QrCodeEcc};

use super::layout::{ACCENT, BLACK, GREY, LIGHT, Layout, text_width};
use crate::domain::certificate::CertificateStatus;

#[derive(Debug, Clone)]
pub struct CertificateData {
    pub number: String,
    /// The issuing association, as signed.
    pub issuer_zh: String,
    pub issuer_en: String,
    /// The text in the centre of the issuer's seal (a setting, not signed).
    pub seal_text: String,
    pub enterprise_name: String,
    pub credit_code: String,
    pub level_zh: String,
    pub level_en: String,
    pub schema_id: String,
    pub version: String,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    /// The public verification page the QR code leads to.
    pub verify_url: String,
    /// The signed certificate (payload, alg, kid, signature) as JSON.
    pub signed_json: String,
    pub kid: String,
    pub signature: String,
    /// `active`, or what makes the certificate not (or no longer) valid: `suspended`, `revoked`,
    /// `expired` or `superseded`, printed across the page.
    pub status: CertificateStatus,
}

/// The issuer's seal: a red ring with the association's name and the seal text inside, centred
/// on (`x`, `y`) mm.
fn seal(l: &mut Layout, x: f32, y: f32, issuer: &str, text: &str) {
    const RED: (f32, f32, f32) = (0.80, 0.10, 0.10);
    const RADIUS: f32 = 16.0;
    l.ring(x, y, RADIUS, 0.8, RED);
    // The name on up to two lines that fit inside the ring, then the seal text below.
    let size = 7.5;
    let lines = super::layout::wrap(issuer, size, RADIUS * 1.5);
    let line_height = size * 0.352_778 * 1.4;
    let mut baseline = y - 2.0 - line_height * (lines.len().min(2) as f32 - 1.0);
    for line in lines.iter().take(2) {
        l.text_at(x - text_width(line, size) / 2.0, baseline, line, size, RED);
        baseline += line_height;
    }
    l.text_at(x - text_width("★", 9.0) / 2.0, y + 5.5, "★", 9.0, RED);
    l.text_at(x - text_width(text, 7.0) / 2.0, y + 11.0, text, 7.0, RED);
}

/// The banner of a certificate that is not valid, in Chinese and English.
fn status_banner(status: CertificateStatus) -> Option<&'static str> {
    Some(match status {
        CertificateStatus::Active => return None,
        CertificateStatus::Suspended => {
            "已暂停 SUSPENDED — 暂停期间本证书无效 Not valid while suspended"
        }
        CertificateStatus::Revoked => "已撤销 REVOKED — 本证书无效 This certificate is not valid",
        CertificateStatus::Expired => "已过期 EXPIRED — 本证书无效 This certificate is not valid",
        CertificateStatus::Superseded => {
            "已被新证书取代 SUPERSEDED — 请以新证书为准 See the newer certificate"
        }
    })
}

const WARNING: (f32, f32, f32) = (0.75, 0.08, 0.08);

/// Consumer law article 38: an association does not recommend goods or services.
pub const DISCLAIMER: (&str, &str) = (
    "本证书仅表明评价结果，评价机构不向消费者推荐商品和服务（《消费者权益保护法》（2013年修正）第三十八条）。",
    "This certificate states an assessment result; the association does not recommend goods or services \
     (Consumer Rights Protection Law (2013 amendment), art. 38).",
);

const PAGE: (f32, f32) = (297.0, 210.0);

fn centred(l: &mut Layout, y: f32, text: &str, size: f32, color: (f32, f32, f32)) {
    let x = (PAGE.0 - text_width(text, size)) / 2.0;
    l.text_at(x, y, text, size, color);
}

/// Renders the certificate; the same certificate in the same status always gives the same bytes.
/// The signed payload embedded is the same whatever the status.
pub fn render(d: &CertificateData) -> Vec<u8> {
    let mut l = Layout::new(PAGE.0, PAGE.1, 20.0, 20.0, 10.0);
    // Frame.
    l.rect(8.0, 8.0, PAGE.0 - 16.0, PAGE.1 - 16.0, ACCENT);
    l.rect(10.0, 10.0, PAGE.0 - 20.0, PAGE.1 - 20.0, (1.0, 1.0, 1.0));
    l.rect(13.0, 13.0, PAGE.0 - 26.0, 0.6, ACCENT);
    l.rect(13.0, PAGE.1 - 13.6, PAGE.0 - 26.0, 0.6, ACCENT);

    centred(
        &mut l,
        38.0,
        "良好企业保护消费者利益社会责任评价证书",
        24.0,
        ACCENT,
    );
    centred(
        &mut l,
        47.0,
        "Assessment Certificate: Social Responsibility in Protecting Consumer Interests",
        11.0,
        GREY,
    );
    let banner = status_banner(d.status);
    if let Some(text) = banner {
        l.rect(13.0, 49.5, PAGE.0 - 26.0, 10.0, WARNING);
        centred(&mut l, 56.7, text, 12.0, (1.0, 1.0, 1.0));
    }
    centred(&mut l, 68.0, &d.enterprise_name, 20.0, BLACK);
    centred(
        &mut l,
        76.0,
        &format!("统一社会信用代码 Credit code：{}", d.credit_code),
        10.0,
        GREY,
    );
    centred(
        &mut l,
        92.0,
        "经审核，依据《良好企业保护消费者利益社会责任导则》编制的评价细则，该企业评价等级为",
        11.0,
        BLACK,
    );
    centred(
        &mut l,
        108.0,
        &format!("{}  {}", d.level_zh, d.level_en),
        22.0,
        if banner.is_some() { GREY } else { ACCENT },
    );
    let rows = [
        format!("评价机构 Issued by：{}  {}", d.issuer_zh, d.issuer_en),
        format!("评价细则 Schema：{} {}", d.schema_id, d.version),
        format!("有效期 Valid：{} — {}", d.issued_on, d.expires_on),
        format!("证书编号 Certificate No.：{}", d.number),
    ];
    if let Some(text) = banner {
        l.text_at(30.0, 120.0, text, 9.0, WARNING);
    }
    let mut y = 128.0;
    for row in rows {
        l.text_at(30.0, y, &row, 11.0, BLACK);
        y += 8.0;
    }
    l.text_at(
        30.0,
        160.0,
        "扫码或访问以下网址验证本证书 Verify this certificate:",
        8.5,
        GREY,
    );
    l.text_at(30.0, 166.0, &d.verify_url, 8.5, ACCENT);
    l.text_at(30.0, 174.0, DISCLAIMER.0, 6.5, GREY);
    l.text_at(30.0, 178.5, DISCLAIMER.1, 6.5, GREY);
    seal(&mut l, 192.0, 150.0, &d.issuer_zh, &d.seal_text);
    let sig = format!("Ed25519 kid {} · {}", d.kid, d.signature);
    l.text_at(30.0, 186.0, &sig, 6.0, GREY);

    // QR code of the verification page, drawn as vector modules.
    if let Ok(qr) = QrCode::encode_text(&d.verify_url, QrCodeEcc::Medium) {
        let size = qr.size();
        let side = 42.0;
        let module = side / size as f32;
        let (x0, y0) = (PAGE.0 - 30.0 - side, 122.0);
        l.rect(x0 - 2.0, y0 - 2.0, side + 4.0, side + 4.0, LIGHT);
        l.rect(x0 - 1.5, y0 - 1.5, side + 3.0, side + 3.0, (1.0, 1.0, 1.0));
        for yy in 0..size {
            for xx in 0..size {
                if qr.get_module(xx, yy) {
                    l.rect(
                        x0 + xx as f32 * module,
                        y0 + yy as f32 * module,
                        module + 0.01,
                        module + 0.01,
                        BLACK,
                    );
                }
            }
        }
    }
    let identifier = format!("csr-assess/certificate/{}", d.number);
    let title = match banner {
        Some(text) => format!("证书 Certificate {} — {text}", d.number),
        None => format!("证书 Certificate {}", d.number),
    };
    l.finish(
        &title,
        &identifier,
        &d.signed_json,
        d.issued_on,
        |_, _, _| {},
    )
}
