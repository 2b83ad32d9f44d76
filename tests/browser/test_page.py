#!/usr/bin/env python3
"""The web page of `flowinone serve`, tested in a real browser (issue 19).

Trains three tiny models with the CLI (a 2D checkerboard MLP, a class-conditional Fashion-MNIST
UNet when Debian's data set is installed, and the VisPrompt translator on drawn items), starts
the real server on an ephemeral port of 127.0.0.1, and drives Debian's headless Chromium through
chromedriver (python3-selenium):

  - the page loads with no console errors and lists the server's models;
  - the playground trains a 2D model, its loss curve gains points, and the density canvas is
    not blank and changes with the time slider;
  - Generate with a named class shows a picture that downloads as the server's PNG;
  - a stroke and a word drawn on the prompt canvas are sent, and an output picture appears;
  - a likelihood is scored, with its value shown;
  - a wrong upload (a text file, a picture of the wrong size) and a stopped server each show a
    message in the page;
  - screenshots of each view at desktop (1280x900) and phone (390x844) width are written to the
    artifact folder.

Usage: test_page.py --flowinone BUILD/flowinone --artifacts DIR [--chromium ...] [--chromedriver ...]
Exit status 0: passed, 1: a check failed, 77: skipped (no browser or selenium).
"""

import argparse
import base64
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    print("skipped: python3-selenium is not installed (scripts/install_deps.sh installs it)")
    sys.exit(77)

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
VIEWS = ["playground", "generate", "studio", "likelihood"]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def gray_png(width, height, value=0):
    """A grayscale PNG of one value, written here (no imaging library needed)."""
    raw = b"".join(b"\x00" + bytes([value]) * width for _ in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


# ---------------------------------------------------------------------------- models and server

def train_models(flowinone, scratch):
    """Trains the test's models side by side; returns {name: dir}."""
    common = ["--threads", "1", "--set", "checkpoint_every=1000", "--set", "device=cpu"]
    jobs = {
        "cb": ["--preset", "checkerboard", "--set", "steps=150", "--set", "width=32",
               "--set", "depth=2", "--set", "shards=1", "--set", "batch_size=256"],
        "vp": ["--preset", "visprompt", "--set", "steps=2", "--set", "batch_size=4",
               "--set", "base_channels=8", "--set", "num_workers=0", "--set", "data_dir=synthetic"],
    }
    if os.path.isdir(FASHION_MNIST):
        jobs["fm"] = ["--preset", "fmnist", "--set", "steps=3", "--set", "batch_size=4",
                      "--set", "base_channels=8", "--set", "num_workers=0",
                      "--set", "sample_steps=20"]
    else:
        log(f"no {FASHION_MNIST}: the class-conditional model and its checks are left out")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    running = {}
    for name, flags in jobs.items():
        out = os.path.join(scratch, name)
        running[name] = (out, subprocess.Popen(
            [flowinone, "train", *flags, *common, "--out", out],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env))
    dirs = {}
    for name, (out, process) in running.items():
        output, _ = process.communicate(timeout=300)
        if process.returncode != 0:
            raise Failure(f"training {name} failed:\n{output.decode(errors='replace')[-2000:]}")
        dirs[name] = out
    return dirs


class Server:
    """`flowinone serve` on a free port of 127.0.0.1; the port is read from its start-up line."""

    def __init__(self, flowinone, dirs):
        args = [flowinone, "serve", "--port", "0", "--threads", "1"]
        for name, path in dirs.items():
            args += ["--model", f"{name}={path}"]
        self.lines = []
        self.port = None
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
        ready = threading.Event()

        def read():
            for raw in self.process.stderr:
                line = raw.decode(errors="replace").rstrip()
                self.lines.append(line)
                found = re.search(r"serving .* on http://[^:]+:(\d+)", line)
                if found:
                    self.port = int(found.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(120) or self.port is None:
            self.stop()
            raise Failure("the server did not start:\n" + "\n".join(self.lines[-20:]))
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---------------------------------------------------------------------------- the browser

def start_browser(chromium, chromedriver):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--force-device-scale-factor=1",
                 "--window-size=1280,900"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_window_size(*SIZES["desktop"])
    return driver


class Page:
    def __init__(self, driver, url):
        self.d = driver
        self.url = url

    def el(self, element_id):
        return self.d.find_element(By.ID, element_id)

    # Each wait ends as soon as its condition holds, so a generous bound costs nothing on a quiet
    # machine; on a loaded one (a 2-core CI box running other tests and builds beside this) the
    # server's answers were seen to take several times the bounds written below.
    PATIENCE = float(os.environ.get("FLOWINONE_TEST_PATIENCE", "4"))

    def wait(self, predicate, timeout, what):
        timeout *= self.PATIENCE
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda _: predicate())
        except TimeoutException:
            raise Failure(f"timed out after {timeout:g} s waiting for {what}") from None

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def show(self, view):
        self.el(f"tab-{view}").click()
        self.wait(lambda: self.el(f"view-{view}").is_displayed(), 5, f"the {view} view")

    def alert_text(self, element_id):
        element = self.el(element_id)
        return element.text if element.is_displayed() else ""

    def console_errors(self):
        return [entry for entry in self.d.get_log("browser") if entry["level"] == "SEVERE"]

    def canvas_stats(self, element_id):
        """(pixels unlike the top-left one, sum of all bytes) of a canvas."""
        return self.js("""
            const c = document.getElementById(arguments[0]);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let differ = 0, sum = 0;
            for (let i = 0; i < d.length; i += 4) {
              if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) differ++;
              sum += d[i] + 3 * d[i + 1] + 7 * d[i + 2];
            }
            return [differ, sum];""", element_id)

    def image_stats(self, element_id):
        """(width, height, pixels that are not black) of a loaded <img>."""
        return self.js("""
            const img = document.getElementById(arguments[0]);
            if (!img.complete || !img.naturalWidth) return [0, 0, 0];
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            const ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            let lit = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] > 40) lit++;
            return [c.width, c.height, lit];""", element_id)

    def screenshot(self, folder, view, size):
        self.d.set_window_size(*SIZES[size])
        self.show(view)
        self.js("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur();")
        time.sleep(0.4)  # layout and canvas redraws after the resize
        path = os.path.join(folder, f"{view}-{size}.png")
        self.d.save_screenshot(path)
        return path


# ---------------------------------------------------------------------------- the checks

def check_loads(page, models):
    page.d.get(page.url)
    page.wait(lambda: "connected" in page.el("server-status").text, 30, "the server status")
    page.wait(lambda: len(page.el("gen-model").find_elements(By.TAG_NAME, "option")) > 0, 10,
              "the model list")
    listed = page.el("foot-models").text
    for name in models:
        check(name in listed, f"the page does not list the model {name}: {listed!r}")
    run_models = [o.get_attribute("value") for o in
                  page.el("run-a-model").find_elements(By.TAG_NAME, "option")]
    check("cb" in run_models, f"the playground does not offer the 2D model: {run_models}")
    errors = page.console_errors()
    check(not errors, f"console errors on load: {errors}")
    log(f"page loaded; models listed: {listed}")


def check_playground(page):
    page.show("playground")
    steps = page.el("run-a-steps")
    steps.clear()
    steps.send_keys("300")
    page.el("run-a-train").click()
    counts = set()
    deadline = time.time() + 300  # the training job: 66 s seen beside a sanitizer build
    while time.time() < deadline:
        count = page.el("run-a-loss").get_attribute("data-points")
        if count and int(count) > 0:
            counts.add(int(count))
        if page.el("run-a-plot").get_attribute("data-drawn"):
            break
        alerts = [a.text for a in page.d.find_elements(By.CSS_SELECTOR, "#run-a .alert") if a.is_displayed()]
        check(not alerts, f"training shows an error: {alerts}")
        time.sleep(0.1)
    check(page.el("run-a-plot").get_attribute("data-drawn"), "the trained model was never drawn")
    check(len(counts) >= 2, f"the loss curve did not gain points while training: {sorted(counts)}")
    trained = Select(page.el("run-a-model")).first_selected_option.get_attribute("value")
    log(f"trained {trained}; loss curve grew through {sorted(counts)}")
    differ_end, sum_end = page.canvas_stats("run-a-plot")
    check(differ_end > 2000, f"the density canvas is blank at t = 1 ({differ_end} pixels drawn)")
    page.el("pg-time").send_keys(Keys.HOME)  # t = 0: the source
    page.wait(lambda: page.el("run-a-plot").get_attribute("data-drawn") == "0.00", 5, "t = 0")
    differ_start, sum_start = page.canvas_stats("run-a-plot")
    check(differ_start > 2000, "the density canvas is blank at t = 0")
    check(sum_start != sum_end, "the density canvas did not change with the time slider")
    # Half-way, with every layer: trajectories and the vector field.
    for _ in range(50):
        page.el("pg-time").send_keys(Keys.ARROW_RIGHT)
    for layer in ["trajectories", "field"]:
        box = page.el(f"pg-layer-{layer}")
        if not box.is_selected():
            box.click()
    time.sleep(1.0)  # the field's request
    alerts = [a.text for a in page.d.find_elements(By.CSS_SELECTOR, "#view-playground .alert")
              if a.is_displayed()]
    check(not alerts, f"the playground shows an error: {alerts}")
    # Run B shows the same served model, so that the side by side is filled for the screenshots.
    Select(page.el("run-b-model")).select_by_value("cb")
    page.wait(lambda: page.el("run-b-plot").get_attribute("data-drawn"), 30, "run B's drawing")
    log(f"density canvas: {differ_start} pixels at t = 0, {differ_end} at t = 1; layers on")


def check_generate(page):
    page.show("generate")
    Select(page.el("gen-model")).select_by_value("fm")
    classes = Select(page.el("gen-class"))
    classes.select_by_visible_text("Sneaker")
    count = page.el("gen-n")
    count.clear()
    count.send_keys("6")
    steps = page.el("gen-steps")
    steps.clear()
    steps.send_keys("10")
    page.el("gen-run").click()
    page.wait(lambda: page.d.find_elements(By.CSS_SELECTOR, "#gen-grid img"), 60, "generated pictures")
    images = page.d.find_elements(By.CSS_SELECTOR, "#gen-grid img")
    page.wait(lambda: page.js("return arguments[0].naturalWidth", images[0]) > 0, 10, "the picture to decode")
    check(len(images) == 6, f"expected 6 pictures, got {len(images)}")
    link = page.d.find_element(By.CSS_SELECTOR, "#gen-grid a")
    href = link.get_attribute("href")
    check(href.startswith("data:image/png;base64,"), "the picture's link is not its PNG")
    png = base64.b64decode(href.split(",", 1)[1])
    check(b"tEXt" in png or b"iTXt" in png, "the downloaded PNG carries no text chunk")
    check(link.get_attribute("download").endswith(".png"), "the picture does not download as .png")
    check("Sneaker" in page.el("gen-grid").text, "the pictures are not labelled with the class")
    log(f"generated {len(images)} pictures of class Sneaker: {page.el('gen-summary').text}")


def check_studio(page):
    page.show("studio")
    Select(page.el("st-model")).select_by_value("vp")
    canvas = page.el("st-canvas")
    page.el("st-clear").click()
    check(page.canvas_stats("st-canvas")[0] == 0, "the prompt canvas is not blank after Clear")
    # A pen stroke across the lower half.
    page.d.find_element(By.CSS_SELECTOR, '.tool[data-tool="pen"]').click()
    width = canvas.size["width"]
    (ActionChains(page.d).move_to_element_with_offset(canvas, -width // 3, width // 4)
     .click_and_hold().move_by_offset(width // 6, -width // 10).move_by_offset(width // 6, width // 10)
     .move_by_offset(width // 4, -width // 8).release().perform())
    after_stroke = page.canvas_stats("st-canvas")[0]
    check(after_stroke > 200, f"the pen stroke did not draw ({after_stroke} pixels)")
    # A word, placed with the text tool.
    page.d.find_element(By.CSS_SELECTOR, '.tool[data-tool="text"]').click()
    text = page.el("st-text")
    text.clear()
    text.send_keys("cat")
    ActionChains(page.d).move_to_element_with_offset(canvas, 0, -width // 5).click().perform()
    after_text = page.canvas_stats("st-canvas")[0]
    check(after_text > after_stroke + 200, "the word was not drawn")
    steps = page.el("st-steps")
    steps.clear()
    steps.send_keys("5")
    page.el("st-run").click()
    page.wait(lambda: page.el("st-output").is_displayed() and page.image_stats("st-output")[0] > 0,
              60, "the translated picture")
    sent = page.image_stats("st-input-preview")
    check(sent[:2] == [32, 32], f"the prompt was not sent at the model's size: {sent[:2]}")
    check(sent[2] > 20, f"the prompt sent is blank ({sent[2]} lit pixels)")
    check(not page.alert_text("st-alert"), f"the studio shows an error: {page.alert_text('st-alert')}")
    strip = page.d.find_elements(By.CSS_SELECTOR, "#st-strip img")
    log(f"translated a drawn stroke and word ({sent[2]} lit pixels sent); "
        f"{len(strip)} pictures along the flow")
    # A template of one of the eight tasks.
    Select(page.el("st-task")).select_by_value("doodle")
    page.el("st-template").click()
    time.sleep(0.8)
    check(not page.alert_text("st-alert"), f"the template failed: {page.alert_text('st-alert')}")


def check_likelihood(page):
    page.show("likelihood")
    Select(page.el("lk-model")).select_by_value("fm")
    page.el("lk-sample").click()
    page.wait(lambda: "sample" in page.el("lk-drop-hint").text, 30, "a generated sample")
    repeats = page.el("lk-repeats")
    repeats.clear()
    repeats.send_keys("2")
    page.el("lk-run").click()
    page.wait(lambda: re.match(r"^-?\d+\.\d+$", page.el("lk-value").text)
              or page.alert_text("lk-alert"), 90, "the bits per dimension")
    check(not page.alert_text("lk-alert"), f"scoring failed: {page.alert_text('lk-alert')}")
    log(f"likelihood: {page.el('lk-value').text} bits/dim {page.el('lk-error').text}; "
        f"{page.el('lk-reference').text}")


def check_bad_uploads(page, scratch):
    text_file = os.path.join(scratch, "notes.txt")
    with open(text_file, "w") as f:
        f.write("not a picture\n")
    wrong_size = os.path.join(scratch, "wrong-size.png")
    with open(wrong_size, "wb") as f:
        f.write(gray_png(40, 40, 200))
    page.show("studio")
    page.el("st-upload").send_keys(text_file)
    page.wait(lambda: page.alert_text("st-alert"), 10, "the studio's message on a text file")
    log(f"studio, text file: {page.alert_text('st-alert')}")
    page.show("likelihood")
    page.el("lk-upload").send_keys(text_file)
    page.wait(lambda: page.alert_text("lk-alert"), 10, "the likelihood's message on a text file")
    log(f"likelihood, text file: {page.alert_text('lk-alert')}")
    page.el("lk-upload").send_keys(wrong_size)
    page.wait(lambda: "40" in page.el("lk-drop-hint").text, 10, "the wrong-size picture to load")
    page.el("lk-run").click()
    page.wait(lambda: "40" in page.alert_text("lk-alert"), 30,
              "the server's message naming the wrong size")
    message = page.alert_text("lk-alert")
    sizes = re.findall(r"\d+x\d+", message)
    check(len(sizes) >= 2 and "40x40" in sizes,
          f"the message does not name both sizes: {message!r}")
    log(f"likelihood, 40x40 picture: {message}")


def check_stopped_server(page, server):
    server.stop()
    page.show("generate")
    page.el("gen-run").click()
    page.wait(lambda: "reach the server" in page.alert_text("gen-alert"), 15,
              "the message that the server is gone")
    log(f"stopped server: {page.alert_text('gen-alert')}")
    page.wait(lambda: "unreachable" in page.el("server-status").text, 10, "the status pill")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flowinone", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--chromedriver",
                        default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    parser.add_argument("--keep", action="store_true", help="keep the trained models")
    args = parser.parse_args()
    for program in [args.chromium, args.chromedriver]:
        if not os.access(program, os.X_OK):
            print(f"skipped: {program} not found (scripts/install_deps.sh installs chromium, "
                  "chromium-driver)")
            return 77
    os.makedirs(args.artifacts, exist_ok=True)
    started = time.time()
    scratch = tempfile.mkdtemp(prefix="flowinone_browser_")
    server = driver = None
    try:
        dirs = train_models(args.flowinone, scratch)
        log(f"trained {', '.join(dirs)} in {time.time() - started:.0f} s")
        server = Server(args.flowinone, dirs)
        log(f"serving on {server.url}")
        driver = start_browser(args.chromium, args.chromedriver)
        page = Page(driver, server.url)
        check_loads(page, dirs)
        check_playground(page)
        if "fm" in dirs:
            check_generate(page)
        check_studio(page)
        if "fm" in dirs:
            check_likelihood(page)
        errors = page.console_errors()
        check(not errors, f"console errors: {errors}")
        shots = []
        for size in SIZES:
            for view in VIEWS:
                shots.append(page.screenshot(args.artifacts, view, size))
        driver.set_window_size(*SIZES["desktop"])
        log(f"screenshots: {args.artifacts}")
        if "fm" in dirs:
            check_bad_uploads(page, scratch)
        check_stopped_server(page, server)
        log(f"passed in {time.time() - started:.0f} s")
        return 0
    except Failure as failure:
        print(f"FAILED: {failure}", flush=True)
        if driver:
            driver.save_screenshot(os.path.join(args.artifacts, "failure.png"))
            for entry in driver.get_log("browser"):
                print("console:", entry)
        if server:
            print("server log:\n" + "\n".join(server.lines[-30:]))
        return 1
    finally:
        if driver:
            driver.quit()
        if server:
            server.stop()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
