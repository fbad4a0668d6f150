"""The page a share's link opens: ``/s#<token>`` (``/s#<token>.<key>`` when the value
was encrypted in the client).

Everything secret is in the fragment, which browsers never send: the server, its
logs, proxies and ``Referer`` headers see only ``/s``. Loading the page (GET or HEAD,
as link previewers do) reveals and consumes nothing; the value is fetched only when
the reader clicks, by ``POST /api/v1/shares/redeem``, and a client-encrypted value is
decrypted in the browser with WebCrypto (AES-256-GCM, docs/sharing.md) under the key
from the fragment, which the server never sees. The page then removes the fragment
from the address bar and history. Scripts and styles come from this server only
(its own Content-Security-Policy), never inline.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter()

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": _CSP, "X-Robots-Tag": "noindex, nofollow"}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>A shared secret</title>
<link rel="stylesheet" href="/s/share.css">
<script src="/s/share.js" defer></script>
</head>
<body>
<main>
<h1>Someone shared a secret with you</h1>
<p>Revealing it uses up one view; it may be the only one. Nothing is shown or used
until you click.</p>
<label for="passphrase">Passphrase (if you were given one)</label>
<input id="passphrase" type="password" autocomplete="off">
<button id="reveal" type="button">Reveal</button>
<p id="status" role="status"></p>
<section id="result" hidden>
<pre id="value"></pre>
<button id="copy" type="button">Copy</button>
</section>
</main>
</body>
</html>
"""

SCRIPT = """"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const frag = location.hash.slice(1);
  const dot = frag.indexOf(".");
  const token = dot < 0 ? frag : frag.slice(0, dot);
  const key = dot < 0 ? "" : frag.slice(dot + 1);
  const say = (text) => { $("status").textContent = text; };
  if (!token) { say("This link is incomplete."); $("reveal").disabled = true; return; }
  const bytes = (s) => {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  };
  async function decrypt(value) {
    const raw = bytes(value);
    const k = await crypto.subtle.importKey("raw", bytes(key), "AES-GCM", false, ["decrypt"]);
    const aad = new TextEncoder().encode("sr-share-v1");
    const params = { name: "AES-GCM", iv: raw.slice(0, 12), additionalData: aad };
    return new TextDecoder().decode(await crypto.subtle.decrypt(params, k, raw.slice(12)));
  }
  async function reveal() {
    $("reveal").disabled = true;
    const body = { token: token };
    if ($("passphrase").value) body.passphrase = $("passphrase").value;
    let r;
    try {
      r = await fetch("/api/v1/shares/redeem", {
        method: "POST", cache: "no-store", credentials: "omit",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
    } catch (e) { say("The service could not be reached."); $("reveal").disabled = false; return; }
    const out = await r.json().catch(() => ({}));
    if (r.status === 200) {
      let text = out.value;
      if (out.clientEncrypted) {
        if (!key) { say("This link lacks its key (the part after the dot)."); return; }
        try { text = await decrypt(out.value); } catch (e) {
          say("The value could not be decrypted with this link's key."); return;
        }
      }
      $("value").textContent = text;
      $("result").hidden = false;
      history.replaceState(null, "", location.pathname);
      say(out.viewsLeft === 0 ? "That was the last view: the share is gone now."
        : "Views left: " + out.viewsLeft + ".");
      return;
    }
    const code = out && out.error ? out.error.code : "";
    if (r.status === 403 && code === "SHR002") {
      say("A passphrase is needed, or the one given was wrong.");
      $("reveal").disabled = false;
    } else if (r.status === 401) {
      say("This share is only for principals of its tenant: redeem it through the API.");
    } else if (r.status === 429) {
      say("Too many attempts; try again in a minute."); $("reveal").disabled = false;
    } else {
      say("This share does not exist or is no longer available.");
    }
  }
  $("reveal").addEventListener("click", reveal);
  $("copy").addEventListener("click", () => navigator.clipboard.writeText($("value").textContent));
})();
"""

STYLE = """body { font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 40rem;
  padding: 0 1rem; color: #1d2330; }
label, input, button { display: block; margin: .5rem 0; }
input { width: 100%; padding: .4rem; }
pre { white-space: pre-wrap; word-break: break-all; background: #f3f4f7; padding: 1rem; }
"""


def _answer(body: str, media_type: str) -> Response:
    return Response(body, media_type=media_type, headers=_HEADERS)


async def share_page(_: Request) -> Response:
    """The page itself: static, the same for every share."""
    return _answer(PAGE, "text/html")


async def share_script(_: Request) -> Response:
    return _answer(SCRIPT, "text/javascript")


async def share_style(_: Request) -> Response:
    return _answer(STYLE, "text/css")


# Plain routes, not API operations: no OpenAPI entry, no client method.
for _path, _endpoint in (
    ("/s", share_page),
    ("/s/share.js", share_script),
    ("/s/share.css", share_style),
):
    router.add_route(_path, _endpoint, methods=["GET", "HEAD"], include_in_schema=False)
