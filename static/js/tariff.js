// Suggestions for tariff code fields (inputs with data-tariff-suggest): as the user types, the
// matching lines of the imported tariff fill the field's <datalist>. Without JavaScript the
// field is a plain text field and works the same typed by hand.
(function () {
  "use strict";
  document.querySelectorAll("input[data-tariff-suggest]").forEach(function (input) {
    var list = document.createElement("datalist");
    list.id = input.id + "-suggestions";
    input.parentNode.appendChild(list);
    input.setAttribute("list", list.id);
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2 || q === asked) return;
        asked = q;
        fetch(input.getAttribute("data-tariff-suggest") + "?q=" + encodeURIComponent(q), {
          credentials: "same-origin",
          headers: { Accept: "application/json" }
        })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (lines) {
            if (input.value.trim() !== q) return;
            list.textContent = "";
            lines.forEach(function (line) {
              var option = document.createElement("option");
              option.value = line.code;
              option.label = line.code + " — " + line.description;
              option.textContent = line.description;
              list.appendChild(option);
            });
          })
          .catch(function () { /* no suggestions: the field still takes what is typed */ });
      }, 200);
    });
  });
})();
