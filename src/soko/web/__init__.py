"""The web app: server-rendered pages in Japanese and English, and the ASGI app for the API."""
