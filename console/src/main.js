// Entry point: read config.json (where the API is, what the stage allows), then render.
import "uplot/dist/uPlot.min.css";
import "./app.css";

import { html } from "htm/preact";
import { render } from "preact";

import { ApiError } from "./api.js";
import { App, ConfigError } from "./app.js";

async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store", credentials: "omit" });
  if (!response.ok) throw new ApiError(response.status, "ConsoleConfig", `config.json could not be read (${response.status})`);
  const config = await response.json();
  return {
    api_url: typeof config.api_url === "string" ? config.api_url : "",
    instance_types: Array.isArray(config.instance_types) ? config.instance_types.map(String) : [],
    stage: typeof config.stage === "string" ? config.stage : "",
  };
}

const root = document.getElementById("app");
loadConfig().then(
  (config) => render(html`<${App} config=${config} />`, root),
  (error) => render(html`<${ConfigError} error=${error} />`, root),
);
