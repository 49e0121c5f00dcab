// The print button of the label sheet. A file of its own: the Content-Security-Policy allows
// no inline script. Without JavaScript the button stays hidden and the browser's own print
// command does the same.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
