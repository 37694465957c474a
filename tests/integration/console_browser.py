#!/usr/bin/python3
# Drives the correlator's web console in headless Chromium (Debian's
# chromium + chromium-driver, Debian's python3-selenium) the way a person
# on call would, for tests/integration/console_browser.sh:
#   token prompt -> incidents list (the incident, its root cause) ->
#   incident page (the graph's rank-1 node, timeline, exemplars) ->
#   silence it from the page -> silences list -> alerts (suppressed by it)
#   -> actions (runbooks not configured) -> the same list at phone width
#   -> expire the silence.
# Screenshots go to OUTDIR. Prints "silence=ID" (and "expired=ID") for
# the shell to check with amtool. Exit 77 when Chromium cannot start.
import json
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

base, token, incident, root_cause, outdir = sys.argv[1:6]
runbooks = len(sys.argv) > 6 and sys.argv[6] == "1"


def start():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-sync", "--lang=en-US"):
        opts.add_argument(a)
    try:
        return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    except WebDriverException as e:
        print(f"SKIP: headless Chromium does not start here: {e.msg.splitlines()[0] if e.msg else e}")
        sys.exit(77)


d = start()
wait = WebDriverWait(d, 20)
step = 0


def shot(name):
    global step
    step += 1
    path = f"{outdir}/{step:02d}-{name}.png"
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(path)
    print(f"screenshot: {path}")


def check(cond, what):
    if not cond:
        shot("failure")
        print(f"FAIL: {what}")
        console_log()
        sys.exit(1)
    print(f"ok: {what}")


def console_log():
    try:
        for entry in d.get_log("browser"):
            print("browser:", entry.get("level"), entry.get("message"))
    except Exception:
        pass


def find(css):
    return wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def text_of(css):
    return d.find_element(By.CSS_SELECTOR, css).text


try:
    # 1. The token prompt: the API answered 401 to a tab without a token.
    d.get(f"{base}/console/")
    find("#token-dialog")
    shot("token-prompt")
    d.find_element(By.ID, "token-input").send_keys(token)
    d.find_element(By.ID, "token-save").click()

    # 2. The incidents list shows the incident, firing, with its root cause.
    row = find(f'tr.incident[data-id="{incident}"]')
    check("firing" in row.get_attribute("class"), f"incident {incident} listed as firing")
    rc = row.find_element(By.CSS_SELECTOR, "td.root-cause").text
    check(rc.split()[0] == root_cause, f"list shows root cause {root_cause} (got {rc!r})")
    shot("incidents")
    stored = d.execute_script("return sessionStorage.getItem('seismo.token')")
    check(stored == token, "token kept in sessionStorage")

    # Filters: a text that matches nothing shows the empty state.
    box = d.find_element(By.ID, "filter-text")
    box.send_keys("no-such-service-xyz")
    find("#incident-list .empty")
    box.clear()
    box.send_keys(root_cause)
    find(f'tr.incident[data-id="{incident}"]')

    # 3. The incident page: the graph's rank-1 node is the root cause.
    row = d.find_element(By.CSS_SELECTOR, f'tr.incident[data-id="{incident}"]')
    row.click()
    find("#graph canvas")
    wait.until(lambda _: d.execute_script("return !!(window.seismoConsole && window.seismoConsole.graph)"))
    graph = json.loads(d.execute_script("""
        const cy = window.seismoConsole.graph;
        return JSON.stringify({
            nodes: cy.nodes().map(n => ({id: n.id(), kind: n.data('kind'), rank: n.data('rank'),
                                          x: n.renderedPosition('x'), y: n.renderedPosition('y')})),
            edges: cy.edges().map(e => [e.source().id(), e.target().id()]),
            width: cy.width(), height: cy.height()});"""))
    print("graph:", json.dumps(graph))
    top = [n for n in graph["nodes"] if n["rank"] == 1]
    check(len(top) == 1 and top[0]["id"] == root_cause and top[0]["kind"] == "candidate",
          f"graph marks {root_cause} as root-cause candidate #1")
    inside = all(0 <= n["x"] <= graph["width"] and 0 <= n["y"] <= graph["height"] for n in graph["nodes"])
    check(inside, "every graph node is drawn inside the graph's box")
    first = find("#root-causes ol.causes li")
    check(first.get_attribute("data-service") == root_cause, "ranked list starts with the root cause")
    find("#timeline svg.gantt rect.bar")
    check(len(d.find_elements(By.CSS_SELECTOR, f'#events .event[data-service="{root_cause}"]')) > 0,
          "events of the root cause are on the timeline")
    ex = d.find_elements(By.CSS_SELECTOR, "#events details.exemplars")
    if ex:
        ex[0].find_element(By.TAG_NAME, "summary").click()
        print("exemplar row:", ex[0].find_element(By.CSS_SELECTOR, "tbody tr").text)
    print("exemplar lists:", len(ex))
    find("#incident-actions .action" if runbooks else "#incident-actions .empty")
    shot("incident")

    # 4. Silence the incident from its page.
    d.find_element(By.ID, "silence-incident").click()
    by = find("#silence-by")
    by.clear()
    by.send_keys("console-test")
    d.find_element(By.ID, "silence-submit").click()
    created = find("#silence-created code")
    sid = created.text
    check(len(sid) > 0, f"silence {sid} created from the page")
    print(f"silence={sid}", flush=True)
    shot("silenced")

    # 5. Silences list and the alerts view.
    d.get(f"{base}/console/#/silences")
    card = find(f'.silence[data-id="{sid}"]')
    check("active" in card.get_attribute("class"), "the silence is listed as active")
    check(f'incident="{incident}"' in card.text, "its matchers name the incident")
    shot("silences")
    d.get(f"{base}/console/#/alerts")
    alert = None
    deadline = time.time() + 15
    while time.time() < deadline:
        for c in d.find_elements(By.CSS_SELECTOR, ".card.alert"):
            if f"incident {incident}" in c.text and "suppressed" in c.get_attribute("class"):
                alert = c
        if alert:
            break
        time.sleep(0.5)
    check(alert is not None and sid in alert.text, "the incident's alert is suppressed, silenced by the new silence")
    shot("alerts")

    # 6. Actions: approve the runbook's action and flip the kill switch; or,
    # on a correlator without runbooks, the panel says so.
    d.get(f"{base}/console/#/actions")
    if runbooks:
        pending = f'.action[data-state="pending"] a[href="#/incident/{incident}"]'
        find(pending)
        shot("actions-pending")
        card = d.find_element(By.XPATH, f'//div[contains(@class,"action") and @data-state="pending"][.//a[@href="#/incident/{incident}"]]')
        aid = card.get_attribute("data-id")
        card.find_element(By.CSS_SELECTOR, "button.approve").click()
        find("#filter-action").send_keys("All")
        find(f'.action[data-id="{aid}"][data-state="succeeded"]')
        check(True, f"action {aid} approved in the page and ran")
        d.execute_script("window.prompt = () => 'console test'")
        find("#kill-switch-toggle").click()
        find('#kill-switch-card[data-engaged="1"]')
        shot("kill-switch-engaged")
        find("#kill-switch-toggle").click()
        find('#kill-switch-card[data-engaged="0"]')
        check(True, "kill switch engaged and released from the page")
    else:
        e = find("#action-list .empty")
        check("not configured" in e.text, "actions panel: runbooks not configured (404) empty state")
        shot("actions")

    # 7. Phone width: the list stacks as cards, nothing wider than the screen.
    d.set_window_size(390, 844)
    d.get(f"{base}/console/#/incidents")
    find(f'tr.incident[data-id="{incident}"]')
    sw = d.execute_script("return document.documentElement.scrollWidth")
    cw = d.execute_script("return document.documentElement.clientWidth")
    check(sw <= cw + 1, f"no horizontal scroll at phone width ({sw} <= {cw})")
    shot("incidents-phone")
    d.get(f"{base}/console/#/incident/{incident}")
    find("#graph canvas")
    time.sleep(0.5)
    shot("incident-phone")
    d.set_window_size(1280, 1000)

    # 8. Wait for amtool's check of the silence, then expire it in the page.
    sys.stdout.flush()
    sys.stdin.readline()
    d.get(f"{base}/console/#/silences")
    find(f'.silence[data-id="{sid}"] button.expire').click()
    wait.until(lambda _: not d.find_elements(By.CSS_SELECTOR, f'.silence[data-id="{sid}"]'))
    print(f"expired={sid}", flush=True)
    shot("silence-expired")
    # Answers the page expects (the first 401, the actions 404) are logged
    # as failed loads; a script error is not one of those.
    bad = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"
           and "Failed to load resource" not in e.get("message", "")]
    check(not bad, f"no script errors in the browser's console ({bad})")
except TimeoutException as e:
    shot("timeout")
    console_log()
    print(f"FAIL: timed out waiting: {e.msg or ''} at {d.current_url}")
    sys.exit(1)
finally:
    d.quit()
