// The reviewer's path through the web console in a real browser (Debian's Chromium, driven by
// Playwright): sign in, claim from the queue, set verdicts (saved without a page reload),
// request evidence, see the enterprise's answer (sent through the API meanwhile), approve; a
// second reviewer approves the four-eyes level on a phone-sized screen; the certificate is on
// /verify; a complaint is handled by the enterprise and an officer. Every console page visited
// is checked with axe-core (no serious or critical violation) and photographed at 1280 and
// 390 px wide.
//
// Run by tests/api/console.rs, which starts the service and prepares the fixture:
//   node tests/console/flow.mjs <fixture.json>

import { readFileSync, mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

const fixture = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { base, shots, submission, requestCriterion, enterpriseToken } = fixture;
mkdirSync(shots, { recursive: true });

const failures = [];
function check(condition, message) {
  if (!condition) {
    failures.push(message);
    throw new Error(message);
  }
}

// Problems the pages cause themselves: script exceptions, subresources that fail to load, and
// Content-Security-Policy violations. axe-core and Playwright's screenshots inject styles of
// their own, which the policy refuses; those moments are not counted.
const problems = [];
let tooling = false;
function watch(page) {
  page.on("pageerror", (e) => problems.push(`script error at ${page.url()}: ${e}`));
  page.on("console", (m) => {
    if (m.type() === "error" && m.text().includes("Content Security Policy") && !tooling) {
      problems.push(`CSP at ${page.url()}: ${m.text().slice(0, 300)}`);
    }
  });
  page.on("response", (r) => {
    if (r.request().resourceType() !== "document" && r.status() >= 400) {
      problems.push(`${r.status()} for ${r.url()}`);
    }
  });
  page.on("requestfailed", (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
}

/** axe-core on the page: serious and critical violations fail the run. */
async function accessible(page, name) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) {
    const where = v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ");
    failures.push(`axe ${name}: ${v.id} (${v.impact}) ${v.help} at ${where}`);
  }
  console.log(`axe ${name}: ${result.violations.length} violations, ${bad.length} serious or critical`);
}

/** Screenshots of the page at desktop and phone width, then back to the page's own width. */
async function photograph(page, name) {
  const own = page.viewportSize();
  for (const [width, height] of [[1280, 900], [390, 844]]) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `${shots}/console-${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize(own);
}

async function visit(page, name) {
  tooling = true;
  await accessible(page, name);
  await photograph(page, name);
  tooling = false;
}

async function signIn(page, who) {
  await page.goto(`${base}/console/reviews`);
  check(page.url().includes("/console/login"), `signed out, the queue sends to the login page (at ${page.url()})`);
  await page.fill("#email", who.email);
  await page.fill("#password", who.password);
  await page.click("form.narrow button[type=submit]");
  await page.waitForURL(/\/console\/reviews$/);
}

/** Signs in from the login page and lands on the console's home page. */
async function signInHome(page, who) {
  await page.goto(`${base}/console/login`);
  await page.fill("#email", who.email);
  await page.fill("#password", who.password);
  await page.click("form.narrow button[type=submit]");
  await page.waitForURL(/\/console\/$/);
}

const anchor = (criterion) => `#c-${criterion.replaceAll(".", "-")}`;

/** Sets a verdict in a criterion's section and waits for htmx to swap the section. */
/** Whether `selector` shows `text` within five seconds: htmx swaps a section in after its response. */
async function shows(page, selector, text) {
  return page.locator(selector, { hasText: text }).waitFor({ timeout: 5000 }).then(() => true, () => false);
}

async function verdict(page, criterion, kind, fields = {}) {
  const section = page.locator(anchor(criterion));
  await section.locator(`input[name=verdict][value=${kind}]`).check();
  for (const [name, value] of Object.entries(fields)) {
    await section.locator(`[name=${name}]`).fill(value);
  }
  const swapped = page.waitForResponse((r) => r.url().includes(`/verdicts/${criterion}`));
  await section.locator("button[type=submit]").click();
  await swapped;
  await page.waitForLoadState("networkidle");
}

const browser = await chromium.launch({
  executablePath: fixture.chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  // The first reviewer, at a desk.
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const page = await desk.newPage();
  watch(page);

  await page.goto(`${base}/console/login`);
  await visit(page, "login");
  // A wrong password keeps the e-mail as typed and says what is wrong.
  await page.fill("#email", fixture.reviewer1.email);
  await page.fill("#password", "not the password at all");
  await page.click("form.narrow button[type=submit]");
  check((await page.inputValue("#email")) === fixture.reviewer1.email, "the e-mail survives a failed login");
  check(await page.locator("#login-error").isVisible(), "a failed login says so");

  await signIn(page, fixture.reviewer1);
  await visit(page, "queue");
  const claim = page.locator(`form[action="/console/reviews/${submission}/claim"] button`);
  check((await claim.count()) === 1, "the submitted self-assessment is in the queue");
  await claim.click();
  await page.waitForURL(new RegExp(`/console/reviews/${submission}$`));
  check((await page.textContent("#status")).includes("评审中"), "claimed: under review");
  await visit(page, "review");

  // A refused verdict: the error is beside its field and what was typed stays.
  const other = fixture.optionalCriterion;
  await verdict(page, other, "adjust", { points: "50" });
  const section = page.locator(anchor(other));
  check(await section.locator(".error").first().isVisible(), "an adjustment without a reason is refused beside its field");
  check((await section.locator("[name=points]").inputValue()) === "50", "the typed points stay after a refusal");
  await verdict(page, other, "accept");
  check(await shows(page, `${anchor(other)} .verdict-text`, "接受"), "the corrected verdict is saved");

  // Every red line and legal duty, accepted one by one without reloading the page.
  const required = await page.locator("#required a").allTextContents();
  check(required.length > 0, "the page names the criteria that need a verdict");
  let reloads = 0;
  page.on("load", () => reloads++);
  for (const criterion of required) {
    if (criterion === requestCriterion) continue;
    await verdict(page, criterion, "accept");
  }
  check(reloads === 0, `verdicts are saved without a page reload (${reloads} reloads)`);
  await verdict(page, requestCriterion, "request_evidence", { comment: "请上传投诉处理记录的扫描件" });
  check(await shows(page, `${anchor(requestCriterion)} .verdict-text`, "要求补充证据"),
    "the evidence request is recorded");

  // The enterprise answers through the API, with a file for the criterion.
  const form = new FormData();
  form.append("criteria", requestCriterion);
  form.append("file", new Blob([Buffer.from("%PDF-1.4\n% 投诉处理记录\n%%EOF\n")], { type: "application/pdf" }), "投诉记录.pdf");
  const auth = { Authorization: `Bearer ${enterpriseToken}` };
  let res = await fetch(`${base}/api/v1/submissions/${submission}/evidence`, { method: "POST", headers: auth, body: form });
  check(res.status === 201, `the enterprise uploads the evidence (${res.status} ${await res.text()})`);
  res = await fetch(`${base}/api/v1/submissions/${submission}/evidence-requests/${requestCriterion}/answer`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ answer: "已上传2026年第三季度的投诉处理记录。" }),
  });
  check(res.status === 200, `the enterprise answers the request (${res.status} ${await res.text()})`);

  await page.reload();
  const answered = page.locator(`${anchor(requestCriterion)} .request-answer`);
  check((await answered.textContent()).includes("第三季度"), "the reviewer sees the enterprise's answer");
  const file = page.locator(`${anchor(requestCriterion)} .evidence a`, { hasText: "投诉记录.pdf" });
  check((await file.count()) === 1, "the new file is beside the criterion, under its own name");
  const pdf = await page.request.get(base + (await file.getAttribute("href")));
  check(pdf.headers()["content-type"] === "application/pdf" && pdf.headers()["content-disposition"].startsWith("inline"),
    "the PDF opens in the browser's viewer");
  await verdict(page, requestCriterion, "accept");
  check((await page.locator("#required").count()) === 0, "no criterion waits for a verdict");

  await page.click("#approve");
  await page.waitForLoadState("networkidle");
  check((await page.locator("#certificate-number").count()) === 0, "one approval does not issue a four-eyes certificate");

  // The second reviewer, on a phone.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN", isMobile: true });
  const second = await phone.newPage();
  watch(second);
  await signIn(second, fixture.reviewer2);
  check((await second.locator("#mine-h").count()) === 1 && (await second.textContent("main")).includes("等待第二位评审员批准"),
    "the second reviewer finds the approval waiting");
  await second.click(`a[href="/console/reviews/${submission}"]`);
  await visit(second, "second-approval");
  await second.click("#approve-second");
  await second.waitForLoadState("networkidle");
  const number = (await second.textContent("#certificate-number")).trim();
  check(/^CCA-/.test(number) || number.length > 8, `a certificate is issued (${number})`);
  await visit(second, "approved");

  // Suspended with a reason, then reinstated: /verify follows.
  await second.fill("#cert-reason", "消费者投诉待核实");
  await second.click("#certificate-change");
  await second.waitForLoadState("networkidle");
  check((await second.textContent("#certificate-status")).includes("已暂停"), "the certificate is suspended");
  await second.goto(`${base}/verify/${number}`);
  check((await second.textContent("#status")).includes("已暂停"), "/verify shows the suspension");
  await second.goBack();
  await second.fill("#cert-reason", "投诉已核实为不成立");
  await second.click("#certificate-change");
  await second.waitForLoadState("networkidle");
  check((await second.textContent("#certificate-status")).includes("有效"), "the certificate is reinstated");
  await second.goto(`${base}/verify/${number}`);
  check((await second.textContent("#status")).includes("有效"), "the certificate is valid on /verify");

  // The enterprise's own view: status, the reviewer's request and its answer, the report.
  const firm = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN", isMobile: true });
  const own = await firm.newPage();
  watch(own);
  await signInHome(own, fixture.enterprise);
  await own.click('nav a[href="/console/submissions"]');
  await visit(own, "enterprise-submissions");
  await own.click(`a[href="/console/submissions/${submission}"]`);
  check((await own.textContent("#status")).includes("已批准"), "the enterprise sees its approval");
  check((await own.textContent("main")).includes("第三季度"), "the enterprise sees its answer to the request");
  check((await own.locator("#certificate-link").count()) === 1, "the enterprise finds its certificate");
  const reportPdf = await own.request.get(`${base}/console/submissions/${submission}/report.pdf`);
  check(reportPdf.status() === 200 && reportPdf.headers()["content-type"] === "application/pdf", "the report PDF downloads");
  await visit(own, "enterprise-submission");
  const forbidden = await own.goto(`${base}/console/reviews`);
  check(forbidden.status() === 403, `an enterprise user has no reviewer pages (${forbidden.status()})`);
  await visit(own, "error-page");

  // A complaint: the enterprise acknowledges it and proposes a settlement on its phone; the
  // officer who recorded it opens the consumer's details (the view is recorded), records that
  // the consumer accepted and closes it.
  const complaint = `/console/complaints/${fixture.complaint}`;
  await own.goto(`${base}/console/complaints`);
  await visit(own, "enterprise-complaints");
  await own.click(`a[href="${complaint}"]`);
  check(!(await own.textContent("main")).includes("13700001111"), "no consumer contact before asking");
  await own.click(`form[action="${complaint}/step"] button[type=submit]`);
  await own.waitForURL(new RegExp(`${complaint}$`));
  check((await own.textContent("main")).includes("已受理"), "the enterprise acknowledges the complaint");
  await own.fill("#proposal", "上门维修并赔偿运费。");
  await own.click(`form[action="${complaint}/step"] button[type=submit]`);
  await own.waitForURL(new RegExp(`${complaint}$`));
  check((await own.textContent("main")).includes("上门维修"), "the proposal is recorded");
  await visit(own, "enterprise-complaint");

  const staffContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const officer = await staffContext.newPage();
  watch(officer);
  await signInHome(officer, fixture.officer);
  await officer.click('nav a[href="/console/complaints"]');
  await officer.waitForURL(/\/console\/complaints$/);
  await visit(officer, "complaints");
  await officer.click(`a[href="${complaint}"]`);
  // The officer recorded the complaint, so is on the case already: no "take" step.
  check((await officer.locator("button[value=take]").count()) === 0, "the recording officer is on the case");
  await officer.click(`form[action="${complaint}/personal-data"] button`);
  check((await officer.textContent("#pd + dl")).includes("13700001111"), "the officer on the case sees the consumer's contact");
  await visit(officer, "complaint-personal-data");
  await officer.goto(`${base}${complaint}`);
  check(!(await officer.textContent("main")).includes("13700001111"), "the contact is not kept on the page");
  await officer.click("button[value=accept]");
  await officer.waitForURL(new RegExp(`${complaint}$`));
  await officer.click("button[value=close]");
  await officer.waitForURL(new RegExp(`${complaint}$`));
  check((await officer.textContent("main")).includes("已结案"), "the complaint is closed");
  await visit(officer, "complaint");

  // An industry body: every chart of its scope drawn, CSV and XLSX downloaded, a population
  // upload previewed (a bad line named) and saved.
  const office = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN", acceptDownloads: true });
  const body = await office.newPage();
  watch(body);
  await signInHome(body, fixture.industryBody);
  await body.click('nav a[href="/console/statistics"]');
  await body.waitForURL(/\/console\/statistics$/);
  await body.waitForLoadState("networkidle");
  for (const figure of ["funnel", "levels", "scores", "criteria", "trends"]) {
    const drawn = await body.locator(`#figure-${figure} img.chart`).evaluate((img) => img.complete && img.naturalWidth > 0);
    check(drawn, `the ${figure} chart is drawn`);
  }
  await visit(body, "statistics");
  for (const ext of ["csv", "xlsx"]) {
    const [download] = await Promise.all([
      body.waitForEvent("download"),
      body.click(`#figure-funnel a[href^="/console/statistics/funnel.${ext}"]`),
    ]);
    check(download.suggestedFilename() === `funnel.${ext}`, `the ${ext} download is named (${download.suggestedFilename()})`);
    const path = await download.path();
    const bytes = readFileSync(path);
    check(ext === "csv" ? bytes.toString("utf8").startsWith("group,registered") : bytes.subarray(0, 2).toString() === "PK",
      `the ${ext} download holds the table`);
  }
  // A filter outside the scope is named beside its field, with what was typed.
  await body.fill("#s-industry", "A01");
  await body.click("form.filters button[type=submit]");
  await body.waitForLoadState("networkidle");
  check(await body.locator("#e-industry").isVisible(), "an industry outside the scope is named");
  check((await body.inputValue("#s-industry")) === "A01", "the typed industry stays");
  await body.goto(`${base}/console/statistics/populations`);
  await body.fill("#p-text", `industry,region,count\n${fixture.industryScope},,120\nC14,33,lots\n`);
  await body.click("button[value=preview]");
  check((await body.textContent("#p-errors")).includes("line 3"), "a bad population line is named by its number");
  check((await body.inputValue("#p-text")).includes("lots"), "the typed text stays");
  await body.fill("#p-text", `industry,region,count\n${fixture.industryScope},,120\n${fixture.industryScope},33,40\n`);
  await body.click("button[value=preview]");
  check((await body.locator("tbody tr").count()) === 2, "the preview shows each row");
  await visit(body, "populations");
  await body.click("#save");
  check((await body.textContent("#saved")).includes("2"), "the populations are saved");

  // An administrator: a staff account (a refused one first, its fields kept), a draft schema
  // version compared and published, the audit chain verified.
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const admin = await adminContext.newPage();
  watch(admin);
  await signInHome(admin, fixture.admin);
  await visit(admin, "home-admin");
  await admin.click('nav a[href="/console/admin/users"]');
  await admin.selectOption("#u-role", "industry_body");
  await admin.fill("#u-email", "body@example.org");
  await admin.fill("#u-password", "short");
  await admin.fill("#u-scopes", "C13");
  await admin.click("form[action='/console/admin/users'] button[type=submit]");
  check(await admin.locator("#e-password").isVisible(), "a weak password is named beside its field");
  check((await admin.inputValue("#u-email")) === "body@example.org" && (await admin.inputValue("#u-scopes")) === "C13",
    "the typed fields stay");
  await admin.fill("#u-password", "a long enough passphrase");
  await admin.click("form[action='/console/admin/users'] button[type=submit]");
  await admin.waitForURL(/created=/);
  check((await admin.textContent("#created")).includes("body@example.org"), "the account is created");
  await visit(admin, "users");
  await admin.click('nav a[href="/console/admin/schemas"]');
  await admin.click(`a[href*="to=${fixture.draftVersion}"]`);
  check((await admin.locator("table.diff tbody tr").count()) > 0, "the diff lists the changed criteria");
  await visit(admin, "diff");
  await admin.goBack();
  await admin.click(`#v-${fixture.draftVersion} form[action$="/publish"] button`);
  await admin.waitForURL(/\/console\/admin\/schemas$/);
  check((await admin.textContent(`#v-${fixture.draftVersion} .state`)).includes("已发布"), "the draft is published");
  await visit(admin, "schemas");
  await admin.click('nav a[href="/console/admin/audit"]');
  await admin.click("#checkpoint");
  await admin.waitForURL(/\/console\/admin\/audit$/);
  await admin.click("#verify");
  const report = await admin.textContent("#report");
  check(report.includes("完整"), `the audit chain verifies: ${report}`);
  await visit(admin, "audit");

  // English, the sessions page, and signing out.
  await page.goto(`${base}/console/sessions`);
  await page.click("a[hreflang=en]");
  await page.waitForURL(/\/console\/sessions$/);
  check((await page.textContent("h1")).includes("Sessions"), "the English switch works");
  await visit(page, "sessions");
  await page.click("header form button");
  await page.waitForURL(/\/console\/login$/);
  await page.goto(`${base}/console/reviews`);
  check(page.url().includes("/console/login"), "after signing out the console asks to sign in");

  check(problems.length === 0, `the pages cause no script error, failed load or CSP violation: ${problems.join("; ")}`);
} catch (e) {
  if (!failures.includes(e.message)) failures.push(String(e.stack || e));
  for (const context of browser.contexts()) {
    for (const p of context.pages()) {
      failures.push(`at ${p.url()}: ${(await p.content().catch(() => "")).slice(0, 1500)}`);
    }
  }
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("console flow: ok");
