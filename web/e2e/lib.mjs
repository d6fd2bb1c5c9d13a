// What the browser tests share: reading their settings, checking, and
// logging in through the login form.

/** The environment variable `name`, which must be set. */
export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** Fails the test with `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Logs in through the page's login form. */
export async function loginIn(page, username, password) {
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("[data-testid=login-submit]");
}

/** Words of the English console and wire codes that must never show in the
 * Chinese one (a label the i18n table lacks shows its code or English). */
const ENGLISH = [
  "recurrence check",
  "intensifying",
  "persistent",
  "diminishing",
  "Dispatched",
  "On patrol",
  "On scene",
  "Legend",
  "Incident queue",
  "straight-line",
];

/** Fails when the page, in Chinese, shows an English term or a raw wire code
 * (a snake_case word such as `fight_assault`). */
export async function checkChinese(page, where) {
  const text = await page.locator("body").innerText();
  const english = ENGLISH.filter((w) => text.includes(w));
  const codes = [...new Set(text.match(/\b[a-z]+(?:_[a-z]+)+\b/g) ?? [])];
  check(english.length === 0 && codes.length === 0, `${where} in Chinese shows ${JSON.stringify([...english, ...codes])}`);
}
