// Keeps every job status box (templates/_job_status.html) up to date by polling
// /api/v1/jobs/<id> with the page's session, until the job is done or failed.
// A page can react to the end through the "soko:job-ended" event on the box.
(function () {
  "use strict";
  var POLL_MS = 1000;
  var MAX_BACKOFF_MS = 15000;

  function fill(box, job) {
    var state = box.querySelector(".jobstatus-state");
    var count = box.querySelector(".jobstatus-count");
    var bar = box.querySelector(".jobstatus-bar");
    var message = box.querySelector(".jobstatus-message");
    var error = box.querySelector(".jobstatus-error");
    var result = box.querySelector(".jobstatus-result");
    state.dataset.status = job.status;
    state.textContent = box.dataset["label" + job.status.charAt(0).toUpperCase() + job.status.slice(1)] || job.status;
    box.dataset.status = job.status;
    if (job.total > 0) {
      bar.max = job.total;
      bar.value = Math.min(job.done, job.total);
      count.textContent = box.dataset.labelProgress
        .replace("{done}", job.done.toLocaleString(document.documentElement.lang))
        .replace("{total}", job.total.toLocaleString(document.documentElement.lang));
    } else if (job.status === "done") {
      bar.max = 1;
      bar.value = 1;
      count.textContent = "";
    } else {
      bar.removeAttribute("value"); // indeterminate while the total is unknown
      count.textContent = "";
    }
    // A job reports its stage in English; the page shows it in its own language.
    var messages = JSON.parse(box.dataset.messages || "{}");
    message.textContent = messages[job.message] || job.message || "";
    error.hidden = job.status !== "failed";
    error.textContent = job.error || "";
    var url = job.result && typeof job.result.url === "string" ? job.result.url : null;
    if (job.status === "done" && url && url.charAt(0) === "/" && url.charAt(1) !== "/") {
      result.querySelector("a").href = url;
      result.hidden = false;
    }
  }

  function watch(box) {
    var url = "/api/v1/jobs/" + encodeURIComponent(box.dataset.jobId);
    var delay = POLL_MS;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (job) {
          delay = POLL_MS;
          fill(box, job);
          if (job.status === "running") {
            window.setTimeout(poll, delay);
          } else {
            box.dispatchEvent(new CustomEvent("soko:job-ended", { detail: job, bubbles: true }));
          }
        })
        .catch(function () {
          box.querySelector(".jobstatus-message").textContent = box.dataset.labelLost;
          delay = Math.min(delay * 2, MAX_BACKOFF_MS);
          window.setTimeout(poll, delay);
        });
    }
    poll();
  }

  document.querySelectorAll(".jobstatus[data-job-id]").forEach(watch);
})();
