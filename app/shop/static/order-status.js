// The order page while the bank confirms a payment: asks the order's status every two seconds
// (for at most five minutes) and reloads the page once the payment is settled either way.
// Without JavaScript the page says to reload it.
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var interval = 2000;
  var triesLeft = 150;

  function again() {
    triesLeft -= 1;
    if (triesLeft > 0) {
      window.setTimeout(poll, interval);
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (order) {
        if (order && !order.awaiting_confirmation) {
          window.location.reload();
        } else {
          again();
        }
      })
      .catch(again);
  }

  window.setTimeout(poll, interval);
})();
