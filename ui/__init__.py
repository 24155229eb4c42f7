"""User-interface layer of the dashboard: maps (folium) and Streamlit helpers."""
