// Server-side tables (templates/_table.html): a choice filter applies as soon as it changes,
// so the reader need not look for the Filter button. Without scripts the button does it.
(function () {
  "use strict";
  document.querySelectorAll("form[role=search] select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
})();
