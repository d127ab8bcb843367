/* The alert table's selection: "select all" of the page, and how many rows the bulk form will
   act on. The table works without it (each row's checkbox belongs to the bulk form); the live
   region swaps the table in (live.js), so the listeners are on the document. */
(function () {
  "use strict";
  var count = document.getElementById("selected-count");

  function boxes() {
    return Array.prototype.slice.call(
      document.querySelectorAll('.alert-table input[name="alert"]:not(:disabled)'));
  }

  function update() {
    var all = boxes();
    var chosen = all.filter(function (box) { return box.checked; }).length;
    var master = document.getElementById("select-all");
    if (master) {
      master.checked = all.length > 0 && chosen === all.length;
      master.indeterminate = chosen > 0 && chosen < all.length;
    }
    if (count) count.textContent = chosen ? count.dataset.text.replace("{n}", String(chosen)) : "";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.id === "select-all") {
      boxes().forEach(function (box) { box.checked = target.checked; });
    }
    update();
  });
  // After the live region is swapped in, the selection is gone: say so.
  new MutationObserver(update).observe(document.getElementById("alerts-live") || document.body,
                                       { childList: true });
  update();
})();
