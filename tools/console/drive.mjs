// Drive the system's headless Chromium through a list of steps and print what happened as JSON.
//
//   node tools/console/drive.mjs plan.json
//
// plan: {executable, args: [...], viewport: {width, height}, steps: [...]}, each step one of
//   {goto: url}                         load a page (or a new #hash of the same page)
//   {wait: "js expression", timeout}    until the expression is truthy in the page
//   {eval: "js expression", as: name}   keep its (JSON) value under results[name]
//   {click: "css selector"}
//   {screenshot: path, fullPage: bool}
// The report: {results, console: [{type, text}], pageErrors: [...], failedRequests: [...], error}.
// playwright-core (package-lock.json) only talks to the browser it is given; it downloads none.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const report = { results: {}, console: [], pageErrors: [], failedRequests: [], error: null };
const profile = mkdtempSync(join(tmpdir(), "agora-chromium-"));
let context;

async function run(page, step) {
  const timeout = step.timeout ?? 30000;
  if (step.goto) await page.goto(step.goto, { waitUntil: "load", timeout });
  else if (step.wait) await page.waitForFunction(step.wait, null, { timeout, polling: 100 });
  else if (step.eval) report.results[step.as] = await page.evaluate(step.eval);
  else if (step.click) await page.click(step.click, { timeout });
  else if (step.screenshot) await page.screenshot({ path: step.screenshot, fullPage: Boolean(step.fullPage) });
  else throw new Error(`unknown step ${JSON.stringify(step)}`);
}

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: plan.executable,
    headless: true,
    args: plan.args ?? [],
    viewport: plan.viewport ?? { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => report.console.push({ type: message.type(), text: message.text() }));
  page.on("pageerror", (error) => report.pageErrors.push(String(error.stack || error)));
  page.on("requestfailed", (request) =>
    report.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));
  for (const [index, step] of plan.steps.entries()) {
    try {
      await run(page, step);
    } catch (error) {
      report.error = `step ${index} ${JSON.stringify(step).slice(0, 300)} failed: ${error.message}`;
      report.results.__html = (await page.content().catch(() => "")).slice(0, 20000);
      break;
    }
  }
} catch (error) {
  report.error = `Chromium did not start: ${error.message}`;
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report));
process.exitCode = report.error ? 1 : 0;
