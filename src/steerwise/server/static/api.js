// Shared by the gateway's pages: $ (an element by id), say (the status line) and call (the
// API with the page's key, `state.key`; an error answer becomes an Error naming its status).
const $ = (id) => document.getElementById(id);

function say(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.key) headers["Authorization"] = "Bearer " + state.key;
  const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (data.error && data.error.message) || response.statusText;
    throw new Error(response.status + " " + message);
  }
  return data;
}
