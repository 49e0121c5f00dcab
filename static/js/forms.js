// Forms, made kinder where JavaScript runs (pages work without it; the CSP allows no inline
// script, hence a file of its own):
// - focus moves to the error summary, and its links put the cursor into the wrong field;
// - a scan box that kept what was typed is selected, so the next scan replaces it;
// - switching language keeps what was typed: the values of the page's forms travel in
//   sessionStorage to the same page in the new language (never passwords or hidden fields).
(function () {
  "use strict";
  var KEY = "lims.kept-input";

  function entryForms() {
    return Array.prototype.filter.call(document.querySelectorAll("main form"), function (f) {
      return (f.getAttribute("method") || "").toLowerCase() === "post";
    });
  }

  function kept(el) {
    return el.name && !/^(hidden|password|submit|button|reset|file|image)$/.test(el.type);
  }

  function keep(next) {
    var forms = entryForms().map(function (form) {
      var fields = Array.prototype.filter.call(form.elements, kept).map(function (el) {
        return { name: el.name, value: el.value, checked: el.checked };
      });
      return { action: form.getAttribute("action"), fields: fields };
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ next: next, forms: forms }));
    } catch (e) {
      // Storage refused (private mode, quota): the switch still works, as without script.
    }
  }

  function restore() {
    var saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (e) {
      return;
    }
    if (!saved || saved.next !== location.pathname + location.search) return;
    saved.forms.forEach(function (s) {
      var form = entryForms().filter(function (f) {
        return f.getAttribute("action") === s.action;
      })[0];
      if (!form) return;
      s.fields.forEach(function (field) {
        Array.prototype.forEach.call(form.elements, function (el) {
          if (el.name !== field.name || !kept(el)) return;
          if (el.type === "radio" || el.type === "checkbox") {
            if (el.value === field.value) el.checked = field.checked;
          } else {
            el.value = field.value;
          }
          // A folded part of the form opens when it holds something typed.
          var changed = el.type === "radio" || el.type === "checkbox" ? el.checked : el.value !== "";
          var folded = el.closest("details");
          if (changed && folded && !(el.tagName === "SELECT" && el.selectedIndex === 0)) {
            folded.open = true;
          }
        });
      });
    });
  }

  document.querySelectorAll("form.langswitch").forEach(function (form) {
    form.addEventListener("submit", function () {
      keep(form.elements.next.value);
    });
    // With script the input is kept, so the warning step of a guarded switch is not needed.
    form.querySelectorAll("details.lang-guard > summary").forEach(function (summary) {
      summary.addEventListener("click", function (event) {
        event.preventDefault();
        form.requestSubmit(summary.parentElement.querySelector("button[name=lang]"));
      });
    });
  });

  restore();

  // A scan box keeps what was typed after a problem; selected, the next scan replaces it
  // instead of being appended to it.
  var scan = document.querySelector("input.scan[autofocus]");
  if (scan && scan.value) {
    scan.focus();
    scan.select();
  }

  var summary = document.getElementById("error-summary");
  if (summary) {
    if (!summary.contains(document.activeElement)) summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      var folded = target.closest("details");
      if (folded) folded.open = true;
      var label = document.querySelector("label[for='" + target.id + "']") ||
        (target.closest("fieldset") || target).querySelector("legend");
      (label || target).scrollIntoView({ block: "start" });
      target.focus({ preventScroll: true });
    });
  }
})();
