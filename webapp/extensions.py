"""The web app's Flask extensions, created unbound here and bound in its factory (webapp/app.py)."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
