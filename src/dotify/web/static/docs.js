// /docs: Swagger UI inside the app's own page (header, theme), from files served here.
"use strict";
(() => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: false,  // its links sit inside the operations' buttons (nested controls)
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    syntaxHighlight: false,  // plain examples in the theme's colours
  });
})();
