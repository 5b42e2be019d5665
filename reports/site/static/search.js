// Filter the organisations list by name, stage and document, from the JSON index in the page.
// Without JavaScript the form stays hidden and the full list shows; nothing here builds markup.
(function () {
  "use strict";
  var form = document.getElementById("organisation-search");
  var data = document.getElementById("search-index");
  if (!form || !data) return;
  var index = JSON.parse(data.textContent);
  var name = form.elements.namedItem("q");
  var stage = form.elements.namedItem("stage");
  var documentField = form.elements.namedItem("document");
  var status = document.getElementById("search-status");
  var groups = document.querySelectorAll("section.group");

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/['’ʼ`]/g, "").replace(/[^a-z0-9]+/g, " ").trim();
  }

  function apply() {
    var words = fold(name.value).split(" ").filter(Boolean);
    var shown = 0;
    index.forEach(function (entry) {
      var match = words.every(function (word) { return entry.text.indexOf(word) !== -1; }) &&
        (!stage.value || entry.stage === stage.value) &&
        (!documentField.value || entry.documents.indexOf(documentField.value) !== -1);
      document.getElementById(entry.id).hidden = !match;
      if (match) shown += 1;
    });
    groups.forEach(function (group) {
      group.hidden = !group.querySelector("li:not([hidden])");
    });
    status.textContent = shown === index.length ? "" :
      shown + (shown === 1 ? " listing matches" : " listings match");
  }

  var query = new URLSearchParams(window.location.search);
  name.value = query.get("q") || "";
  stage.value = query.get("stage") || "";
  documentField.value = query.get("document") || "";
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  form.hidden = false;
  apply();
}());
