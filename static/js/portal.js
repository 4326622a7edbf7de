// The portal's own few behaviours, on every page (no framework):
// - the navigation's Menu button on narrow screens opens and closes the links;
// - after a submit the server refused, focus goes to the first field with an error, so a
//   keyboard or screen-reader user starts where the form needs them.
(function () {
  "use strict";

  function setUpMenu() {
    var button = document.querySelector("header.top .nav-toggle");
    var nav = document.getElementById("site-nav");
    if (!button || !nav) return;
    button.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  function focusFirstError() {
    // Only a form's own errors: a notice elsewhere on the page moves nothing.
    var error = document.querySelector("main form .errorlist");
    if (!error) return;
    var holder = error.closest(".field");
    var field = holder && holder.querySelector("input:not([type=hidden]), select, textarea");
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    } else {  // an error of the whole form: read it first
      error.setAttribute("tabindex", "-1");
      error.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpMenu();
    focusFirstError();
  });
})();
