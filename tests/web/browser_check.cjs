// Drives Debian's Chromium (playwright-core, no downloaded browser) against a running dashboard.
//   node browser_check.cjs check URL       the views page updates its table and chart live
//   node browser_check.cjs screenshots URL DIR VIEW   one PNG per page (VIEW on the views page)
// For `check`, the caller appends readings to the pipeline's input while this runs; this
// script prints "ready" once the page shows its first rows, and then waits for more.
"use strict";
const { chromium } = require("playwright-core");

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function rowsText(page) {
  return page.$$eval("#rows tbody tr", (trs) => trs.map((tr) => tr.innerText));
}

async function check(page, url) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url + "#/views/env_10s");
  await page.waitForSelector("#rows tbody tr", { timeout: 15000 });
  await page.waitForSelector("#chart canvas", { timeout: 15000 });
  const firstRows = await rowsText(page);
  const firstPoints = Number(await page.getAttribute("#chart", "data-points"));
  console.log("ready", firstRows.length, firstPoints);
  // New windows and updated aggregates arrive over the WebSocket, without a reload.
  await page.waitForFunction((n) => Number(document.getElementById("chart").dataset.points) > n,
    firstPoints, { timeout: 20000 });
  await page.waitForFunction((n) => document.querySelectorAll("#rows tbody tr").length > n,
    firstRows.length, { timeout: 20000 });
  const live = await page.textContent("#live");
  if (live !== "live") throw new Error("the live badge says " + live);
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  console.log("updated", (await rowsText(page)).length, await page.getAttribute("#chart", "data-points"));
}

async function screenshots(page, url, dir, view) {
  await page.setViewportSize({ width: 1440, height: 800 });  // the live fleet's graph is 5 columns wide
  for (const [name, hash, selector] of [["overview", "#/overview", "#sources"],
    ["devices", "#/devices", "table tbody tr"], ["views", "#/views/" + view, "#chart canvas"],
    ["pipeline", "#/graph", "#graph"], ["rejects", "#/rejects", "table tbody tr"]]) {
    await page.goto(url + hash);
    await page.waitForSelector(selector, { timeout: 15000 });
    await page.waitForTimeout(800);
    await page.screenshot({ path: `${dir}/dashboard-${name}.png` });
    console.log("wrote", `${dir}/dashboard-${name}.png`);
  }
}

(async () => {
  const [mode, url, dir, view] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    if (mode === "check") await check(page, url);
    else if (mode === "screenshots" && view) await screenshots(page, url, dir, view);
    else throw new Error("usage: browser_check.cjs check URL | screenshots URL DIR VIEW");
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error("error:", e.message); process.exit(1); });
