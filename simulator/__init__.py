"""Offline stand-ins for the ERP and bank APIs, served over loopback HTTP."""
