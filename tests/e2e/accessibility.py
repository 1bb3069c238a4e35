"""What every page must satisfy for a keyboard, a screen reader and a phone.

axe-core comes from the ``axe-playwright-python`` package, which ships its ``axe.min.js``: the
check runs offline, with the version pinned by the project's own dependencies.
"""

from axe_playwright_python.sync_playwright import Axe

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 320, "height": 640}  # the narrowest phone WCAG 1.4.10 (reflow) names
SCREENSHOT_PHONE = {"width": 390, "height": 844}

# WCAG 2.1 A and AA, plus axe's best practices (landmarks, one main, headings in order).
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
BLOCKING = {"serious", "critical"}
MIN_TAP = 44  # px, WCAG 2.5.5: the controls one taps all day, not links inside prose
TAP_TARGETS = (
    "button, .button, select, textarea, input:not([type=hidden]):not([type=checkbox]), "
    ".topbar nav a, .tabs a, table.cards tr[data-ticket-id] a"
)

_axe = Axe()


def axe_violations(page) -> list[str]:
    """The serious and critical axe-core violations on the page, one readable line each."""
    results = _axe.run(page, options=AXE_OPTIONS).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results
        if v["impact"] in BLOCKING
    ]


def unlabelled_controls(page) -> list[str]:
    """Form controls without a <label>. Stricter than axe-core, which takes a placeholder or a
    title for a name: both vanish or hide, a label stays."""
    return page.evaluate(
        """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
          .filter((control) => control.labels.length === 0)
          .map((control) => `unlabelled ${control.tagName.toLowerCase()} name=${control.name}`)"""
    )


def overflow(page) -> list[str]:
    """What scrolls sideways: the page itself, or any box inside it (a wide table's wrapper)."""
    return page.evaluate(
        """() => {
          const wide = [];
          const root = document.documentElement;
          if (root.scrollWidth > root.clientWidth) {
            wide.push(`page: ${root.scrollWidth}px in ${root.clientWidth}px`);
          }
          for (const node of document.body.querySelectorAll("*")) {
            const style = getComputedStyle(node);
            if (!["auto", "scroll"].includes(style.overflowX)) continue;
            if (node.scrollWidth > node.clientWidth + 1) {
              wide.push(`${node.tagName.toLowerCase()}.${node.className}: `
                + `${node.scrollWidth}px in ${node.clientWidth}px`);
            }
          }
          return wide;
        }"""
    )


def small_tap_targets(page) -> list[str]:
    """Visible controls smaller than 44 x 44 px."""
    return page.evaluate(
        """([selector, min]) => [...document.querySelectorAll(selector)]
          .filter((node) => node.getClientRects().length)
          .map((node) => [node, node.getBoundingClientRect()])
          .filter(([, box]) => box.height < min - 0.5 || box.width < min - 0.5)
          .map(([node, box]) => `${node.tagName.toLowerCase()} "${node.textContent.trim()
            .slice(0, 30)}": ${Math.round(box.width)} x ${Math.round(box.height)}`)""",
        [TAP_TARGETS, MIN_TAP],
    )


def focus_outline(page) -> str:
    """The focus indicator of the focused element, e.g. "3px solid rgb(...)"; "" when none."""
    return page.evaluate(
        """() => {
          const style = getComputedStyle(document.activeElement);
          if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) === 0) return "";
          return `${style.outlineWidth} ${style.outlineStyle} ${style.outlineColor}`;
        }"""
    )
