// /docs: Swagger UI inside the app's own page (header, theme), from files served here.
"use strict";
(() => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    syntaxHighlight: { activated: true, theme: "agate" },
  });
})();
