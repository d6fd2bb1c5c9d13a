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
